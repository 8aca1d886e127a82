// @ts-nocheck -- the guide's code as published.
// Compatibility fixture: pattern 5 of versori-kv-state-management.md, verbatim.
import { webhook, fn } from '@versori/run';
import { VersoriKVAdapter } from '@fluentcommerce/fc-connect-sdk';

interface ErrorState {
fileName: string;
attemptCount: number;
lastError: string;
lastAttemptAt: string;
firstFailedAt: string;
nextRetryAt: string;
}

/**
* Error state management pattern
* Tracks failures and implements smart retry logic
*/
export const retryableIngestion = webhook('ingest-with-retry', {
response: { mode: 'sync' }
})
.then(fn('process-with-retry-tracking', async (ctx) => {
const { openKv, log, data } = ctx;

const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
const files = data.files || ['file1.csv', 'file2.csv', 'file3.csv'];

const results = {
succeeded: [] as string[],
failed: [] as string[],
skipped: [] as string[]
};

for (const fileName of files) {
const errorStateKey = ['error-state', fileName];

// Check if file has error state
const errorStateResult = await kvAdapter.get(errorStateKey);
const errorState = errorStateResult?.value as ErrorState | undefined;

// Check if we should retry
if (errorState) {
const nextRetry = new Date(errorState.nextRetryAt);
const now = new Date();

if (now < nextRetry) {
log.info(`⏭️ [Retry] Skipping ${fileName} until ${errorState.nextRetryAt}`, {
attemptCount: errorState.attemptCount,
lastError: errorState.lastError
});
results.skipped.push(fileName);
continue;
}

// Max retry attempts reached?
if (errorState.attemptCount >= 5) {
log.warn(`⚠️ [Retry] Max retries exceeded for ${fileName}, requires manual intervention`);
results.skipped.push(fileName);
continue;
}

log.info(`♻️ [Retry] Retrying ${fileName} (attempt ${errorState.attemptCount + 1})`, {
lastError: errorState.lastError,
firstFailedAt: errorState.firstFailedAt
});
}

try {
// Process the file
await processFileWithPossibleFailure(fileName);

// Success! Clear error state
if (errorState) {
await kvAdapter.delete(errorStateKey);
log.info(`✅ [Retry] File recovered after ${errorState.attemptCount} retries: ${fileName}`);
}

results.succeeded.push(fileName);
} catch (error) {
// ? Enhanced: Error logging with recommendations
const errorMessage = (error as Error).message;
const attemptCount = errorState ? errorState.attemptCount + 1 : 1;
const now = new Date();

// Calculate next retry with exponential backoff
const backoffMinutes = Math.pow(2, attemptCount) * 5; // 5, 10, 20, 40, 80 minutes
const nextRetryAt = new Date(now.getTime() + backoffMinutes * 60 * 1000);

// Save error state
const newErrorState: ErrorState = {
fileName,
attemptCount,
lastError: errorMessage,
lastAttemptAt: now.toISOString(),
firstFailedAt: errorState?.firstFailedAt || now.toISOString(),
nextRetryAt: nextRetryAt.toISOString()
};

await kvAdapter.set(errorStateKey, newErrorState);

log.error('[KVStateManagement] File processing failed', {
fileName,
attemptCount,
error: error instanceof Error ? error.message : String(error),
errorType: error instanceof Error ? error.constructor.name : 'Error',
nextRetryAt: nextRetryAt.toISOString(),
backoffMinutes,
recommendation: error.message?.includes('parse') || error.message?.includes('format')
? 'Check file format and structure - ensure file is valid'
: error.message?.includes('mapping') || error.message?.includes('field')
? 'Check mapping configuration and verify file column structure'
: error.message?.includes('connection') || error.message?.includes('timeout')
? 'Check network connectivity and data source availability'
: `Will retry after ${backoffMinutes} minutes - review error details`
});

results.failed.push(fileName);
}
}

return {
success: true,
results,
summary: {
succeeded: results.succeeded.length,
failed: results.failed.length,
skipped: results.skipped.length
}
};
}))
.then(fn('cleanup-old-errors', async (ctx) => {
const { openKv, log, data } = ctx;

// Cleanup error states older than 7 days
const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
const sevenDaysAgo = new Date(Date.now() - 7 * 24 * 60 * 60 * 1000);

// Note: This requires tracking error state keys separately
// In production, use VersoriIndexedFileTracker pattern

log.info('Error state cleanup completed');
return data;
}));

async function processFileWithPossibleFailure(fileName: string): Promise<void> {
// Simulate random failures for demonstration
if (Math.random() < 0.3) {
throw new Error('Simulated processing failure');
}
await new Promise(resolve => setTimeout(resolve, 100));
}
