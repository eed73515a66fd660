/**
 * The entry point of the report viewer bundle (report_assets/viewer.js): render the page.
 */
import { main } from './viewer';

main();
