// A minimal Steward agent plugin (docs/configuration.md, "Plugins").
// The agent calls the default export with TypeBox's `Type`, so the plugin needs no packages.
export default ({ Type }) => ({
  name: 'hello',
  description: 'Greets whoever asks (an example plugin)',
  commands: [
    {
      type: 'hello.greet',
      description: 'Returns a greeting for the name given',
      payload: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      safeToRerun: true,
      handler: async ({ name }, ctx) => ({ greeting: `hello, ${name}`, node: ctx.link.node.name }),
    },
  ],
});
