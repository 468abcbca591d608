export { createLogger, type Logger, type LoggerSettings } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
