// The console's screens, in tab order. A screen is a module exporting a Preact component; add a line
// here to add a tab. ``perm``: the permission that shows it (the server checks again on every call);
// ``title``: its UI label key; ``keepAlive``: stays mounted (and polling) when another tab is shown.
import { Audit } from "./audit.js";
import { Canned } from "./canned.js";
import { Conversations } from "./conversations.js";
import { Metrics } from "./metrics.js";
import { Staff } from "./staff.js";

export const SCREENS = [
  { id: "conversations", perm: "queue.view", title: "tab_conversations", component: Conversations, keepAlive: true, layout: "split" },
  { id: "metrics", perm: "metrics.view", title: "tab_metrics", component: Metrics },
  { id: "audit", perm: "audit.view", title: "tab_audit", component: Audit },
  { id: "staff", perm: "staff.manage", title: "tab_staff", component: Staff },
  { id: "canned", perm: "canned.manage", title: "tab_canned", component: Canned },
];
