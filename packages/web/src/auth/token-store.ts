/**
 * The operator token lives in sessionStorage: it survives reloads of this tab but not closing
 * it, and other sites cannot read it. localStorage would keep an admin-capable secret on disk
 * indefinitely; a cookie would be sent automatically and need CSRF defences. The one-click link
 * that `npm start` prints carries the token in the URL fragment (#token=…), which browsers
 * never send to a server; it is moved into sessionStorage and wiped from the address bar at once.
 */
const KEY = 'steward.token';

export function loadToken(): string | null {
  const fromFragment = takeFragmentToken();
  if (fromFragment) {
    saveToken(fromFragment);
    return fromFragment;
  }
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled: the token lives in memory until the tab closes
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

/**
 * The sign-in link pasted into a tab already open on the page changes only the fragment: no
 * reload, so `loadToken` does not run again. The app calls this on `hashchange`.
 */
export function tokenFromNewFragment(): string | null {
  const token = takeFragmentToken();
  if (token) saveToken(token);
  return token;
}

function takeFragmentToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m?.[1]) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}
