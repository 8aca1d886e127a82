// @ts-nocheck -- the guide's code as published (it does not type-check under strict mode).
// Compatibility fixture: pattern 3 of versori-kv-state-management.md, verbatim.
// The import map points @versori/run at a stand-in and
// @fluentcommerce/fc-connect-sdk at this package.
import { webhook, fn } from '@versori/run';
import { StateService, VersoriKVAdapter } from '@fluentcommerce/fc-connect-sdk';

interface CheckpointData {
currentBatch: number;
totalBatches: number;
processedRecords: number;
lastProcessedId: string;
startTime: string;
}

/**
* Checkpoint & resume pattern
* Useful for long-running batch processing that might fail partway through
*/
export const batchProcessingWithCheckpoints = webhook('process-batches', {
response: { mode: 'sync' }
})
.then(fn('check-checkpoint', async (ctx) => {
const { openKv, log, data } = ctx;

const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
const stateService = new StateService(log);
const workflowId = 'batch-processing';
const checkpointKey = `checkpoint:${workflowId}`;

// Try to restore from checkpoint
const syncState = await stateService.getSyncState(kvAdapter, workflowId);
let checkpoint: CheckpointData | null = null;

if (syncState.isInitialized) {
// Check if there's a saved checkpoint (stored in custom state)
const stored = await kvAdapter.get([checkpointKey]);
if (stored?.value) {
checkpoint = stored.value as CheckpointData;
log.info('♻️ [Checkpoint] Resuming from checkpoint', checkpoint);
}
}

// Get batches to process
const allBatches = data.batches || generateBatches(100); // 100 batches total

// Determine starting point
const startBatch = checkpoint ? checkpoint.currentBatch : 0;
const processedSoFar = checkpoint ? checkpoint.processedRecords : 0;

return {
batches: allBatches,
startBatch,
processedSoFar,
kvAdapter,
stateService,
workflowId,
checkpointKey,
startTime: checkpoint?.startTime || new Date().toISOString()
};
}))
.then(fn('process-with-checkpoints', async ({ data, log }) => {
const {
batches,
startBatch,
processedSoFar,
kvAdapter,
stateService,
workflowId,
checkpointKey,
startTime
} = data;

let processedRecords = processedSoFar;

// Process batches starting from checkpoint
for (let i = startBatch; i < batches.length; i++) {
const batch = batches[i];

try {
log.info(`🚀 [Processing] Processing batch ${i + 1}/${batches.length}`);

// Process the batch
const result = await processBatch(batch);
processedRecords += result.recordCount;

// Save checkpoint after each batch (or every N batches)
if ((i + 1) % 10 === 0 || i === batches.length - 1) {
const checkpoint: CheckpointData = {
currentBatch: i + 1,
totalBatches: batches.length,
processedRecords,
lastProcessedId: result.lastId,
startTime
};

await kvAdapter.set([checkpointKey], checkpoint);
log.info(`💾 [Checkpoint] Checkpoint saved at batch ${i + 1}`);
}
} catch (error) {
// ? Enhanced: Error logging with recommendations
log.error('[KVStateManagement] Batch processing failed', {
batchNumber: i + 1,
error: error instanceof Error ? error.message : String(error),
errorType: error instanceof Error ? error.constructor.name : 'Error',
recommendation: error.message?.includes('authentication') || error.message?.includes('401')
? 'Verify fluent_commerce connection and OAuth2 credentials in Connections section'
: error.message?.includes('mutation') || error.message?.includes('GraphQL')
? 'Check GraphQL mutation syntax and batch payload structure'
: error.message?.includes('connection') || error.message?.includes('timeout')
? 'Check network connectivity and Fluent Commerce API availability'
: 'Review error details - checkpoint saved for retry'
});

// Save checkpoint at failure point
const checkpoint: CheckpointData = {
currentBatch: i, // Retry this batch
totalBatches: batches.length,
processedRecords,
lastProcessedId: batch[0]?.id || '',
startTime
};

await kvAdapter.set([checkpointKey], checkpoint);
throw error; // Fail workflow so it can be retried
}
}

// All batches processed - clear checkpoint
await kvAdapter.delete([checkpointKey]);
log.info('✅ [Checkpoint] All batches processed, checkpoint cleared');

// Update final sync state
await stateService.updateSyncState(kvAdapter, [{
fileName: 'batch-processing-complete',
lastModified: new Date().toISOString(),
recordCount: processedRecords
}], workflowId);

return {
success: true,
totalBatches: batches.length,
processedRecords,
duration: Date.now() - new Date(startTime).getTime()
};
}));

function generateBatches(count: number): any[] {
return Array.from({ length: count }, (_, i) => ({
id: `batch-${i + 1}`,
data: []
}));
}

async function processBatch(batch: any): Promise<{ recordCount: number; lastId: string }> {
// Your batch processing logic
await new Promise(resolve => setTimeout(resolve, 100));
return { recordCount: 50, lastId: batch.id };
}
