// Entry point of the `warrant` command (bin/warrant.js, npm start).
import { main } from './program.js';

await main(process.argv);
