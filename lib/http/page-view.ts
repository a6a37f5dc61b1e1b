import type { Request, Response } from 'express';
import type { BrowserTags } from '../admission/browser-tags.js';
import type { PageCounter } from '../types/index.js';
import { randomId } from '../util/random-ids.js';

/** What every page view of one counter shares. */
export interface PageViewSettings {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly tags: BrowserTags;
  /** The client address the per-browser cap keys on (`RequestReader.addressOf`). */
  readonly addressOf: (req: Request) => string;
}

const DEFAULT_ALT = 'Users online';

/**
 * `res.locals.userCounter`: the counter's image for one page view. Its URL is the page view's
 * own (`/online.png?view=…`): Firefox hands a new tab the image another tab is still loading
 * when the URL is the same, and a multipart image never finishes loading, so the second tab
 * would show a broken image and go uncounted. The first use also sets the per-browser cookie
 * on the page's own response, so that the images of tabs loading together already carry it,
 * and `Cache-Control: no-store` when the page has none (a kept copy would reuse the view).
 * Made for every GET that reaches the counter's router: the work waits for the first use.
 */
export class PageView implements PageCounter {
  private view: string | undefined;
  /** The counter's mount path, as the router saw it (the page's route may see another). */
  private readonly base: string;

  constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly settings: PageViewSettings,
  ) {
    this.base = req.baseUrl;
  }

  get src(): string {
    return this.url();
  }

  url(query?: Readonly<Record<string, string | number>>): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) params.set(name, String(value));
    params.set('view', this.viewId());
    return `${this.base}${this.settings.path}?${params.toString()}`;
  }

  img(attributes: Readonly<Record<string, string | number | boolean>> = {}, query?: Readonly<Record<string, string | number>>): string {
    const { width, height } = this.settings;
    const all: Record<string, string | number | boolean> = { alt: DEFAULT_ALT, width, height, ...attributes, src: this.url(query) };
    const written = Object.entries(all)
      .filter(([, value]) => value !== false)
      .map(([name, value]) => {
        if (!/^[A-Za-z_:][-A-Za-z0-9_:.]*$/.test(name)) throw new TypeError(`express-user-counter: userCounter.img(): '${name}' is not an attribute name.`);
        return value === true ? name : `${name}="${escapeAttribute(String(value))}"`;
      });
    return `<img ${written.join(' ')}>`;
  }

  /** This page view's id, made on first use, when the browser cookie is set too. */
  private viewId(): string {
    if (this.view === undefined) {
      this.view = randomId(9);
      this.setBrowserCookie();
    }
    return this.view;
  }

  private setBrowserCookie(): void {
    const { req, res, settings } = this;
    if (res.headersSent) return;
    const tag = settings.tags.tag(req, settings.addressOf(req), this.base);
    if (tag?.setCookie) res.append('Set-Cookie', tag.setCookie);
    // A copy of the page kept by the browser (Firefox's Duplicate Tab) would ask for the same view,
    // and wait behind it; a page whose own Cache-Control says otherwise is the app's choice.
    if (res.getHeader('Cache-Control') === undefined) res.setHeader('Cache-Control', 'no-store');
  }
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
