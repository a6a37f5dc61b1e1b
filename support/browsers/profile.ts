import type { Profile, Viewer } from './viewer.js';

const openProfiles = new Set<Profile>();

/** Close every profile still open (`closeAllViewers` calls this after closing the viewers). */
export async function closeAllProfiles(): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled([...openProfiles].map((profile) => profile.close()));
}

/**
 * What every engine's profile shares: it knows its tabs, and closing it releases them
 * (their samplers stop) and then closes them all at once. A viewer that owns its profile
 * (`browser.open`) closes the profile when it closes.
 */
export abstract class BrowserProfile<V extends Viewer> implements Profile<V> {
  private readonly viewers = new Set<V>();
  private closing: Promise<void> | undefined;

  /** `tracked`: closed by `closeAllViewers` when a test leaves it open. */
  constructor(tracked = true) {
    if (tracked) this.track();
  }

  /** Whether `close` has begun: its windows are closed with it, not one by one. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Open `url` in a new tab (window) of this profile. */
  open(url: string): Promise<V> {
    return this.openTab(url, false);
  }

  /** A new tab showing `url`; `ownsProfile`: closing the viewer closes this profile. */
  async openTab(url: string, ownsProfile: boolean, beforeNavigation?: (viewer: V) => Promise<void>): Promise<V> {
    if (this.closed) throw new Error('This browser profile is closed.');
    const viewer = await this.newTab(ownsProfile);
    this.viewers.add(viewer);
    await beforeNavigation?.(viewer);
    await viewer.navigate(url);
    return viewer;
  }

  /** Close every tab, then the profile. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      openProfiles.delete(this);
      await Promise.all([...this.viewers].map((viewer) => viewer.release()));
      await this.closeProfile();
    })();
    return this.closing;
  }

  /** Keep a tab the browser opened itself (`window.open`) with the profile's own. */
  protected adopt(viewer: V): V {
    this.viewers.add(viewer);
    return viewer;
  }

  /** Count this profile as open (for a profile made before it is handed out). */
  protected track(): void {
    openProfiles.add(this);
  }

  /** A new tab (window) of this profile, showing nothing yet. */
  protected abstract newTab(ownsProfile: boolean): Promise<V>;
  /** Close the profile and whatever windows it still has. */
  protected abstract closeProfile(): Promise<void>;
}
