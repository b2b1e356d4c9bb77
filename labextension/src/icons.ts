/**
 * The studies panel's icon: learning curves under a tuning knob. Its width is 16 px and
 * its height follows the viewBox, as JupyterLab's own icons: a tab bar that does not size
 * its icons (Notebook 7's bottom panel) showed it at 24 px, over the tab's name.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.8" stroke-linecap="round">
    <path d="M3 20 C7 8, 11 6, 21 5"/>
    <path d="M3 20 C8 13, 13 12, 21 11"/>
    <path d="M3 20 C9 17, 14 17, 21 17"/>
  </g>
  <circle class="jp-icon-accent0" cx="17" cy="5" r="2.6" fill="#f57c00" stroke="none"/>
</svg>`;

export const hpoIcon = new LabIcon({ name: 'jupyter-hpo:studies', svgstr: svg });
