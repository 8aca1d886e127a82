// What the guide imports from '@fluentcommerce/fc-connect-sdk': its state
// classes come from this package; createClient (the Fluent Commerce API
// client, not part of this package) is a stand-in that records its calls.
export * from '../../../js/node.mjs';

export const fluentCalls = { jobs: [] as unknown[], batches: [] as unknown[] };

export async function createClient(_ctx: unknown) {
  return {
    async createJob(request: { name: string; retailerId: string }) {
      fluentCalls.jobs.push(request);
      return { id: `fluent-job-${fluentCalls.jobs.length}` };
    },
    async sendBatch(jobId: string, batch: unknown) {
      fluentCalls.batches.push({ jobId, batch });
      return { id: `batch-${fluentCalls.batches.length}` };
    },
  };
}
