/*
 * The real-browser harness, one import for the tests (through __tests__/helpers/browser.ts)
 * and the benches: Chromium (Playwright), Firefox (Puppeteer over WebDriver BiDi) and
 * WebKitGTK (WebDriver) behind one `Viewer`. Each concept lives in its own file here.
 * Nothing here uses Jest's globals.
 */
export type { Engine, EngineBrowser, ImageBox, Opener, Profile } from './viewer.js';
export { closeAllViewers, Viewer } from './viewer.js';
export { BrowserProfile } from './profile.js';
export { ENGINES, launchBrowser } from './engines.js';
export type { BeforeNavigation } from './chromium.js';
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
} from './chromium.js';
export { FirefoxBrowser, FirefoxProfile, FirefoxViewer } from './firefox.js';
export { WebKitBrowser, WebKitProfile, WebKitViewer } from './webkit.js';
export type { Program } from './programs.js';
export { PROGRAMS, programPath } from './programs.js';
export type { Sample, Sampleable, SamplerOptions } from './sampler.js';
export { Sampler } from './sampler.js';
export { setTimeout as sleep } from 'node:timers/promises';
export type { Box } from './frames.js';
export {
  closestCount,
  crop,
  describeSample,
  differingPixels,
  expectedEndedOnWhite,
  expectedOnWhite,
  inkInText,
  MAX_DIFFERING_PIXELS,
  MIN_TEXT_INK,
  PIXEL_TOLERANCE,
  samplePng,
  screenShows,
  screenShowsEnded,
  showsText,
  showsWholeFrame,
  TEXT_BOX,
} from './frames.js';
export type { ChurnStep, LeaveOptions, ScreenChange, WatchedPage } from './scenarios.js';
export { churn, joinAndWait, leaveAndWait, peakCount, summarize, unsteadySamples } from './scenarios.js';
export { openAndWatch } from './playwright-compat.js';
export { BLANK_PATH, IMAGE_PAGE_HTML, servePage, VIEW_PAGE_PATH } from './page.js';
export type { DemoServer } from './demo.js';
export { startDemo } from './demo.js';
export { startWebKitDriver, startXvfb } from './processes.js';
export { freePort } from '../free-port.js';
