/**
 * The page's device configuration, config.json: written by `inpaint serve` and `npm run build:web`
 * (assets.ts), read by the page at start (web/device.ts). Types only, no imports, so the page,
 * typechecked without Node, shares the one definition.
 */
export interface DeviceConfig {
  /** 'server': `inpaint serve` answers the API too; 'static': a static host, device only. */
  mode: 'server' | 'static';
  /** Changes when any file changes: the page keys its Cache Storage on it. */
  version: string;
  /** URLs relative to the page: the bundle folder (ends with /), the VGG file, ORT's files' prefix. */
  bundleUrl: string;
  vggUrl: string;
  wasmPaths: string;
  /** Every file the device mode may fetch, with its size: the progress bar's total. */
  files: { url: string; bytes: number }[];
}
