import type { Express } from 'express';

/** The page under test: nothing but the live image, as a site would embed it. */
export const IMAGE_PAGE_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Users online</title></head>' +
  '<body><img src="/online.png" width=200 height=30 alt="Users online"></body></html>';

/** The same page written with the page helper (`res.locals.userCounter.img()`): an image URL of each page view's own. */
export const VIEW_PAGE_PATH = '/view';

/** A page of the same site without the image: where a viewer goes when it navigates away. */
export const BLANK_PATH = '/blank';
const BLANK_PAGE_HTML = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title></head><body></body></html>';

/**
 * Add the image page at `/`, the same written with the page helper at `/view`, and the page
 * without it at `/blank` (an `after` hook for `startCounterApp`).
 */
export function servePage(app: Express): void {
  app.get('/', (_req, res) => {
    res.type('html').send(IMAGE_PAGE_HTML);
  });
  app.get(VIEW_PAGE_PATH, (_req, res) => {
    res.type('html').send(IMAGE_PAGE_HTML.replace(/<img [^>]*>/, res.locals.userCounter.img()));
  });
  app.get(BLANK_PATH, (_req, res) => {
    res.type('html').send(BLANK_PAGE_HTML);
  });
}
