// The one version of all three programs (iron, iron-api, iron-runner); kept equal to package.json's.
export const VERSION = '0.1.0';
