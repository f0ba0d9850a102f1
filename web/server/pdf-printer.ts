import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Debian's Chromium (or CHROMIUM_PATH). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/**
 * Prints an HTML page to an A4 PDF with headless Chromium (print to PDF), or null when no Chromium is
 * installed. The page is set as content (no network: its images are inline); one browser per print.
 */
export function chromiumPdfPrinter(path: string = CHROMIUM): ((html: string, out: string) => Promise<void>) | null {
  if (!existsSync(path)) return null;
  return async (html, out) => {
    const browser = await chromium.launch({ executablePath: path, headless: true, args: FLAGS });
    try {
      const page = await browser.newPage();
      await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
      await page.pdf({ path: out, format: 'A4', printBackground: true, margin: { top: '10mm', bottom: '12mm', left: '10mm', right: '10mm' }, displayHeaderFooter: true, headerTemplate: '<span></span>', footerTemplate: '<div style="font-size:8px;width:100%;text-align:center"><span class="pageNumber"></span> / <span class="totalPages"></span></div>' });
    } finally {
      await browser.close();
    }
  };
}
