// CloudFormation resource metadata the local workflow runner reads from the synthesized template, so it
// runs what would be deployed without a second map of the stack.

/** On each AWS::Lambda::Function: its entry module, relative to the project root (functions/x.ts). */
export const ENTRY_METADATA_KEY = "mx-connect:entry";
/** On each AWS::StepFunctions::StateMachine: its role in the app ("sync" or "refresh"). */
export const STATE_MACHINE_METADATA_KEY = "mx-connect:state-machine";
