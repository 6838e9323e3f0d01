// The entry of a pooled worker thread: one container operation per task.
export { performOperation as default } from './containerActor.js';
