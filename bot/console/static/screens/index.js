// The console's screens, in tab order. A screen is a module exporting a Preact component; add a line
// here to add a tab. ``perm``: the permission that shows it (the server checks again on every call);
// ``title``: its UI label key; ``keepAlive``: stays mounted (and polling) when another tab is shown.
import { Audit } from "./audit.js";
import { Canned } from "./canned.js";
import { Conversations } from "./conversations.js";
import { Crews } from "./crews.js";
import { Dispatch } from "./dispatch.js";
import { Inspection } from "./inspection.js";
import { Metrics } from "./metrics.js";
import { Quality } from "./quality.js";
import { Staff } from "./staff.js";
import { Wall } from "./wall.js";

export const SCREENS = [
  { id: "conversations", perm: "queue.view", title: "tab_conversations", component: Conversations, keepAlive: true, layout: "split" },
  { id: "dispatch", perm: "tickets.view", title: "tab_dispatch", component: Dispatch, keepAlive: true, layout: "split" },
  { id: "inspection", perm: "inspection.create", title: "tab_inspection", component: Inspection },
  { id: "crews", perm: "crews.manage", title: "tab_crews", component: Crews },
  { id: "wall", perm: "conversation.view_all", title: "tab_wall", component: Wall },
  { id: "metrics", perm: "metrics.view", title: "tab_metrics", component: Metrics },
  { id: "quality", perm: "quality.score", title: "tab_quality", component: Quality },
  { id: "audit", perm: "audit.view", title: "tab_audit", component: Audit },
  { id: "staff", perm: "staff.manage", title: "tab_staff", component: Staff },
  { id: "canned", perm: "canned.manage", title: "tab_canned", component: Canned },
];
