import { Empty } from '../components/states.js';
import { Link } from '../router.js';

export function NotFoundView() {
  return (
    <Empty title="There is no such page">
      <Link to="/">Go to the overview</Link>
    </Empty>
  );
}
