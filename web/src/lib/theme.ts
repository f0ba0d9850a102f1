/** Dark by default (control rooms are dim); the choice is remembered per browser. */
export type Theme = 'dark' | 'light';

const STORAGE_KEY = 'chronotrace.theme';

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'light' ? 'light' : 'dark';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage can be off (private mode, policy): the theme still applies for this page.
  }
}
