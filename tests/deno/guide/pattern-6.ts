// @ts-nocheck -- the guide's code as published.
// Compatibility fixture: pattern 6 of versori-kv-state-management.md, verbatim.
import { webhook, fn } from '@versori/run';
import { VersoriIndexedFileTracker } from '@fluentcommerce/fc-connect-sdk';

/**
* Advanced file tracking with indexing
* Allows listing all processed files (overcomes Versori KV list limitation)
*/
export const indexedFileTracking = webhook('manage-files', {
response: { mode: 'sync' }
})
.then(fn('track-and-manage-files', async (ctx) => {
const { openKv, log, data } = ctx;

// Initialize indexed file tracker
const fileTracker = new VersoriIndexedFileTracker(openKv(':project:'), 'inventory-ingestion');
const operation = data.operation || 'process'; // process, list, stats, cleanup

switch (operation) {
case 'process': {
const files = data.files || ['file1.csv', 'file2.csv'];

for (const file of files) {
// Process file
log.info(`🚀 [Processing] Processing: ${file}`);
const recordCount = Math.floor(Math.random() * 1000) + 100;

// Mark as processed (automatically updates index)
await fileTracker.markFileProcessed(file, {
recordCount,
source: 's3://bucket/' + file,
processingDuration: 1234
});
}

return { success: true, processed: files.length };
}

case 'list': {
// List all processed files
const processedFiles = await fileTracker.listProcessedFiles();
log.info(`📋 [Index] Found ${processedFiles.length} processed files`);

return {
success: true,
files: processedFiles.map(f => ({
name: f.fileName,
processedAt: f.metadata?.processedAt,
recordCount: f.metadata?.recordCount
}))
};
}

case 'stats': {
// Get processing statistics
const stats = await fileTracker.getStats();
log.info('📊 [Index] File processing statistics', stats);

return {
success: true,
stats
};
}

case 'cleanup': {
// Clear all processed files
const result = await fileTracker.clearAllProcessedFiles();
log.info(`🧹 [Index] Cleanup complete: ${result.success} deleted, ${result.failed} failed`);

return {
success: true,
deleted: result.success,
failed: result.failed
};
}

case 'remove': {
// Remove specific file
const fileName = data.fileName;
if (!fileName) {
throw new Error('fileName required for remove operation');
}

await fileTracker.removeProcessedFile(fileName);
log.info(`🗑️ [Index] Removed file: ${fileName}`);

return { success: true, removed: fileName };
}

default:
throw new Error(`Unknown operation: ${operation}`);
}
}));
