/*
 * The real-browser harness, one import for the tests and benches: Chromium (Playwright),
 * Firefox (Puppeteer over WebDriver BiDi) and WebKitGTK (WebDriver) behind one `Viewer`.
 * Each concept lives in its own file under `./browsers/`.
 */
export type { Engine, EngineBrowser, ImageBox, Opener, Profile } from './browsers/viewer.js';
export { closeAllViewers, Viewer } from './browsers/viewer.js';
export { BrowserProfile } from './browsers/profile.js';
export { ENGINES, launchBrowser, useBrowser, useChromium } from './browsers/engines.js';
export type { BeforeNavigation } from './browsers/chromium.js';
export {
  CHROMIUM_ARGS,
  ChromiumBrowser,
  ChromiumProfile,
  ChromiumViewer,
  // The Chromium viewer under its first name (bench/soak.ts uses it).
  ChromiumViewer as ViewerPage,
  chromiumPath,
  DEFAULT_CHROMIUM_PATH,
  launchChromium,
  recordImageData,
} from './browsers/chromium.js';
export { FirefoxBrowser, FirefoxProfile, FirefoxViewer } from './browsers/firefox.js';
export { WebKitBrowser, WebKitProfile, WebKitViewer } from './browsers/webkit.js';
export type { Program } from './browsers/programs.js';
export { PROGRAMS, programPath } from './browsers/programs.js';
export type { Sample, Sampleable, SamplerOptions } from './browsers/sampler.js';
export { Sampler, sleep } from './browsers/sampler.js';
export type { Box } from './browsers/frames.js';
export {
  closestCount,
  crop,
  describeSample,
  differingPixels,
  expectedOnWhite,
  inkInText,
  MAX_DIFFERING_PIXELS,
  MIN_TEXT_INK,
  PIXEL_TOLERANCE,
  samplePng,
  screenShows,
  showsText,
  showsWholeFrame,
  TEXT_BOX,
} from './browsers/frames.js';
export type { ChurnStep, LeaveOptions, ScreenChange, WatchedPage } from './browsers/scenarios.js';
export { churn, joinAndWait, leaveAndWait, peakCount, summarize } from './browsers/scenarios.js';
export { openAndWatch } from './browsers/playwright-compat.js';
export { BLANK_PATH, IMAGE_PAGE_HTML, servePage, startPageApp } from './browsers/page-app.js';
export type { DemoServer } from './browsers/demo.js';
export { startDemo } from './browsers/demo.js';
export { freePort, startWebKitDriver, startXvfb } from './browsers/processes.js';
