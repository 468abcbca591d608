export { createLogger, type Logger, type LoggerSettings } from './logger.js';
export { createMetrics, USER_SERVERS_LABEL, type Metrics } from './metrics.js';
