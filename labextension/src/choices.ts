/**
 * A study view's choices (the reported value its curves draw, the column its table is sorted
 * by) kept in the browser's local storage, so that they survive closing the view and
 * reloading the page.
 */

/** The choice kept under `key`, or null when none is (or local storage is unavailable). */
export function keptChoice(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Keep `value` under `key` (null: forget it); without local storage the choice lasts as
 * long as the page. */
export function keepChoice(key: string, value: string | null): void {
  try {
    if (value === null) {
      window.localStorage.removeItem(key);
    } else {
      window.localStorage.setItem(key, value);
    }
  } catch {
    // private browsing or a full quota: nothing is kept
  }
}
