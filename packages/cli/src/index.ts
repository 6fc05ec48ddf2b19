export { buildFullProgram, buildProgram, commandNamed, COMMANDS, VERSION } from './program.js';
