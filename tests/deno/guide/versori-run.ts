// A stand-in for @versori/run's workflow builders, just enough to run the
// guide's workflows in a test: each step gets the context plus the previous
// step's result as `data`.
type Step = { name: string; handler: (ctx: any) => unknown };

export function fn(name: string, handler: (ctx: any) => unknown): Step {
  return { name, handler };
}

function chain(steps: Step[]) {
  return {
    then: (step: Step) => chain([...steps, step]),
    async run(ctx: object, data: unknown = {}) {
      let result = data;
      for (const step of steps) result = await step.handler({ ...ctx, data: result });
      return result;
    },
  };
}

export function webhook(_name: string, _options?: unknown) {
  return chain([]);
}
