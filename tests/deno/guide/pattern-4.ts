// @ts-nocheck -- the guide's code as published.
// Compatibility fixture: pattern 4 of versori-kv-state-management.md, verbatim.
import { webhook, fn } from '@versori/run';
import {
StateService,
VersoriKVAdapter,
createClient
} from '@fluentcommerce/fc-connect-sdk';

/**
* Daily job management pattern
* Reuses a single job for multiple batches within a day
*/
export const dailyJobIngestion = webhook('ingest-daily', {
response: { mode: 'sync' }
})
.then(fn('get-or-create-job', async (ctx) => {
// Destructure context inside function body
const { openKv, log, connections, activation } = ctx;

const kvAdapter = new VersoriKVAdapter(openKv());
const stateService = new StateService(log);
const workflowId = 'daily-inventory-ingestion';

// Check for existing daily job
const existingJob = await stateService.getDailyJob(kvAdapter, workflowId);

let jobId: string;
let isNewJob = false;

if (existingJob && existingJob.jobId) {
// Reuse existing job
jobId = existingJob.jobId;
log.info(`♻️ [DailyJob] Reusing daily job: ${jobId}`, {
createdAt: existingJob.createdAt,
expiresAt: existingJob.expiresAt
});
} else {
// Create new job
const client = await createClient(ctx); // Auto-detects Versori context

const job = await client.createJob({
name: `daily-inventory-${new Date().toISOString().split('T')[0]}`,
retailerId: activation.getVariable('fluentRetailerId') as string
});

jobId = job.id;
isNewJob = true;

// Store job for 24 hours
await stateService.setDailyJob(kvAdapter, workflowId, jobId, 24);
log.info(`🆕 [DailyJob] Created new daily job: ${jobId}`);
}

return {
jobId,
isNewJob,
kvAdapter,
stateService,
workflowId,
client: await createClient(ctx) // Auto-detects Versori context
};
}))
.then(fn('send-batches-to-job', async ({ data, log }) => {
const { jobId, client, kvAdapter, stateService, workflowId } = data;

// Your batches to process
const batches = [
{ entities: [{ skuRef: 'SKU001', qty: 100 }] },
{ entities: [{ skuRef: 'SKU002', qty: 200 }] }
];

const batchResults = [];

for (const batch of batches) {
try {
const result = await client.sendBatch(jobId, {
action: 'UPSERT',
entityType: 'INVENTORY_CATALOGUE',
entities: batch.entities
});

batchResults.push({ success: true, batchId: result.id });
log.info(`✅ [Batch] Batch sent to job ${jobId}: ${result.id}`);
} catch (error) {
// ? Enhanced: Error logging with recommendations
log.error('[KVStateManagement] Batch submission failed', {
batchId: result?.id,
error: error instanceof Error ? error.message : String(error),
errorType: error instanceof Error ? error.constructor.name : 'Error',
recommendation: error.message?.includes('authentication') || error.message?.includes('401')
? 'Verify fluent_commerce connection and OAuth2 credentials in Connections section'
: error.message?.includes('batch') || error.message?.includes('job')
? 'Check batch API payload and job status'
: error.message?.includes('connection') || error.message?.includes('timeout')
? 'Check network connectivity and Fluent Commerce API availability'
: 'Review error details and check batch submission payload'
});
batchResults.push({ success: false, error: (error as Error).message });
}
}

// Update sync state with processed records
await stateService.updateSyncState(kvAdapter, [{
fileName: `daily-batch-${new Date().toISOString()}`,
lastModified: new Date().toISOString(),
recordCount: batches.reduce((sum, b) => sum + b.entities.length, 0)
}], workflowId);

return {
success: true,
jobId,
batchCount: batchResults.length,
successCount: batchResults.filter(r => r.success).length
};
}));
