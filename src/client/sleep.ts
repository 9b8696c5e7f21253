// The real sleep lives with the Clock in k8s/clock.ts; kept here for the loops that import it from client.
export { sleep } from '../k8s/clock.js';
