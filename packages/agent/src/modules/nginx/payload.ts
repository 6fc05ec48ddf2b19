// The payload schemas live in @steward/protocol/modules: the control plane validates and redacts with the same ones.
export { FILE_PATH, INDEX_FILE, IP_ADDRESS, Location, NginxSiteRemovePayload, PROXY_URL, SERVER_NAME, SITE_NAME, SiteName, SiteSpec, URI_PATH } from '@steward/protocol/modules';
