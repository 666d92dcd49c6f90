// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions 3 uses.
import "../local/polyfills";
