// @ts-nocheck -- the guide's code as published.
// Compatibility fixture: "Issue 4: Checkpoint Corruption" of
// versori-kv-state-management.md, verbatim apart from the import and the
// two `export` keywords the test needs to call it.
import { VersoriKVAdapter } from '@fluentcommerce/fc-connect-sdk';
type CheckpointData = Record<string, unknown>;
interface VersionedCheckpoint {
version: number; // Schema version
data: CheckpointData;
checksum?: string; // Optional integrity check
savedAt: string;
}

export async function saveCheckpoint(
kvAdapter: VersoriKVAdapter,
key: string[],
data: CheckpointData
): Promise<void> {
const checkpoint: VersionedCheckpoint = {
version: 1,
data,
savedAt: new Date().toISOString()
};

await kvAdapter.set(key, checkpoint);
}

export async function loadCheckpoint(
kvAdapter: VersoriKVAdapter,
key: string[]
): Promise<CheckpointData | null> {
try {
const result = await kvAdapter.get(key);
if (!result?.value) return null;

const checkpoint = result.value as VersionedCheckpoint;

// Validate version
if (checkpoint.version !== 1) {
console.warn('Checkpoint version mismatch, ignoring');
return null;
}

// Check if checkpoint is too old (e.g., > 7 days)
const savedAt = new Date(checkpoint.savedAt);
const age = Date.now() - savedAt.getTime();
if (age > 7 * 24 * 60 * 60 * 1000) {
console.warn('Checkpoint too old, starting fresh');
return null;
}

return checkpoint.data;
} catch (error) {
console.error('Failed to load checkpoint', error);
return null; // Start fresh on corruption
}
}
