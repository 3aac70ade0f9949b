import { randomUUID } from 'node:crypto';

/** The in-memory workspace behind the Linear emulator. Records are plain data; `resolvers.ts` shapes them for GraphQL. */

export type WorkflowStateType = 'triage' | 'backlog' | 'unstarted' | 'started' | 'completed' | 'canceled';
export type AgentSessionStatus = 'pending' | 'active' | 'awaitingInput' | 'complete' | 'error' | 'stale';

export interface EmOrganization {
  id: string;
  name: string;
  urlKey: string;
}

export interface EmUser {
  id: string;
  name: string;
  displayName: string;
  email: string;
  active: boolean;
  /** An OAuth app's user (actor=app). */
  app: boolean;
  createdAt: string;
}

export interface EmTeam {
  id: string;
  key: string;
  name: string;
  /** The next issue number in this team. */
  nextNumber: number;
}

export interface EmWorkflowState {
  id: string;
  teamId: string;
  name: string;
  type: WorkflowStateType;
  position: number;
  color: string;
}

export interface EmProject {
  id: string;
  name: string;
  description: string;
  slugId: string;
  state: string;
  teamIds: string[];
  createdAt: string;
}

export interface EmLabel {
  id: string;
  name: string;
  color: string;
  teamId?: string;
  createdAt: string;
}

export interface EmIssue {
  id: string;
  number: number;
  identifier: string;
  teamId: string;
  projectId?: string;
  stateId: string;
  title: string;
  description?: string;
  labelIds: string[];
  creatorId?: string;
  assigneeId?: string;
  delegateId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface EmComment {
  id: string;
  issueId: string;
  userId?: string;
  body: string;
  parentId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface EmReaction {
  id: string;
  issueId?: string;
  commentId?: string;
  userId: string;
  emoji: string;
  createdAt: string;
}

export interface EmAgentSession {
  id: string;
  issueId?: string;
  commentId?: string;
  appUserId: string;
  creatorId?: string;
  status: AgentSessionStatus;
  externalLink?: string;
  externalUrls: Array<{ label: string; url: string }>;
  plan?: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface EmAgentActivity {
  id: string;
  agentSessionId: string;
  userId: string;
  /** The `content` input as sent: `{ type, body }`, `{ type: 'action', action, parameter, result? }`, … */
  content: Record<string, unknown>;
  signal?: string;
  signalMetadata?: Record<string, unknown>;
  ephemeral: boolean;
  createdAt: string;
}

export interface WorkflowStateSeed {
  name: string;
  type: WorkflowStateType;
  color?: string;
  position?: number;
}

export const DEFAULT_STATES: readonly WorkflowStateSeed[] = [
  { name: 'Backlog', type: 'backlog', color: '#bec2c8' },
  { name: 'Todo', type: 'unstarted', color: '#e2e2e2' },
  { name: 'In Progress', type: 'started', color: '#f2c94c' },
  { name: 'In Review', type: 'started', color: '#0f783c' },
  { name: 'Done', type: 'completed', color: '#5e6ad2' },
  { name: 'Canceled', type: 'canceled', color: '#95a2b3' },
];

/** The API key of the seeded viewer (sent raw in `Authorization`, as Linear's personal keys are). */
export const DEFAULT_API_KEY = 'lin_api_emulator_viewer_key';

export interface SeededWorkspace {
  organization: EmOrganization;
  /** The API key's user: bgagent itself. */
  viewer: EmUser;
  /** A person in the workspace who labels issues. */
  human: EmUser;
  team: EmTeam;
  /** By name: Backlog, Todo, In Progress, In Review, Done, Canceled. */
  states: Record<string, EmWorkflowState>;
  /** The `bgagent` label. */
  label: EmLabel;
  apiKey: string;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);

export class LinearEmulatorState {
  organization: EmOrganization = { id: randomUUID(), name: 'Acme', urlKey: 'acme' };
  readonly users = new Map<string, EmUser>();
  readonly teams = new Map<string, EmTeam>();
  readonly workflowStates = new Map<string, EmWorkflowState>();
  readonly projects = new Map<string, EmProject>();
  readonly labels = new Map<string, EmLabel>();
  readonly issues = new Map<string, EmIssue>();
  readonly comments = new Map<string, EmComment>();
  readonly reactions = new Map<string, EmReaction>();
  readonly agentSessions = new Map<string, EmAgentSession>();
  readonly agentActivities = new Map<string, EmAgentActivity>();
  /** Personal API keys (the raw `Authorization` value) → user id. */
  readonly apiKeys = new Map<string, string>();
  /** OAuth access tokens (`Authorization: Bearer …`) → user id. */
  readonly accessTokens = new Map<string, string>();
  lastSyncId = 1000;
  /** Set by `seedDefaultWorkspace`. */
  defaults!: SeededWorkspace;
  private clock = 0;

  /** Strictly increasing timestamps, so ordering by createdAt is stable within one millisecond. */
  now(): string {
    this.clock = Math.max(this.clock + 1, Date.now());
    return new Date(this.clock).toISOString();
  }

  nextSyncId(): number {
    return ++this.lastSyncId;
  }

  addUser(u: Partial<EmUser> & { name: string }): EmUser {
    const user: EmUser = {
      id: u.id ?? randomUUID(),
      name: u.name,
      displayName: u.displayName ?? u.name.split(' ')[0]!.toLowerCase(),
      email: u.email ?? `${slug(u.name)}@${this.organization.urlKey}.test`,
      active: u.active ?? true,
      app: u.app ?? false,
      createdAt: u.createdAt ?? this.now(),
    };
    this.users.set(user.id, user);
    return user;
  }

  addApiKey(key: string, userId: string): void {
    this.apiKeys.set(key, userId);
  }

  addAccessToken(token: string, userId: string): void {
    this.accessTokens.set(token, userId);
  }

  /** The user an `Authorization` header authenticates, if any. */
  authenticate(header: string | undefined): EmUser | undefined {
    if (!header) return undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(header);
    const userId = bearer ? this.accessTokens.get(bearer[1]!.trim()) : this.apiKeys.get(header.trim());
    const user = userId ? this.users.get(userId) : undefined;
    return user?.active ? user : undefined;
  }

  addTeam(t: Partial<EmTeam> & { key: string; states?: readonly WorkflowStateSeed[] }): EmTeam {
    const team: EmTeam = { id: t.id ?? randomUUID(), key: t.key, name: t.name ?? t.key, nextNumber: t.nextNumber ?? 1 };
    this.teams.set(team.id, team);
    (t.states ?? DEFAULT_STATES).forEach((s: WorkflowStateSeed, i) => this.addWorkflowState({ teamId: team.id, name: s.name, type: s.type, color: s.color, position: s.position ?? i }));
    return team;
  }

  addWorkflowState(s: Partial<EmWorkflowState> & { teamId: string; name: string; type: WorkflowStateType }): EmWorkflowState {
    const state: EmWorkflowState = {
      id: s.id ?? randomUUID(),
      teamId: s.teamId,
      name: s.name,
      type: s.type,
      position: s.position ?? this.teamStates(s.teamId).length,
      color: s.color ?? '#888888',
    };
    this.workflowStates.set(state.id, state);
    return state;
  }

  /** A team's states by position. */
  teamStates(teamId: string): EmWorkflowState[] {
    return [...this.workflowStates.values()].filter((s) => s.teamId === teamId).sort((a, b) => a.position - b.position);
  }

  stateByName(teamId: string, name: string): EmWorkflowState | undefined {
    return this.teamStates(teamId).find((s) => s.name.toLowerCase() === name.toLowerCase());
  }

  addProject(p: Partial<EmProject> & { name: string }): EmProject {
    const id = p.id ?? randomUUID();
    const project: EmProject = {
      id,
      name: p.name,
      description: p.description ?? '',
      slugId: p.slugId ?? id.replace(/-/g, '').slice(0, 12),
      state: p.state ?? 'started',
      teamIds: p.teamIds ?? (this.defaults ? [this.defaults.team.id] : []),
      createdAt: p.createdAt ?? this.now(),
    };
    this.projects.set(project.id, project);
    return project;
  }

  addLabel(l: Partial<EmLabel> & { name: string }): EmLabel {
    const label: EmLabel = { id: l.id ?? randomUUID(), name: l.name, color: l.color ?? '#5e6ad2', teamId: l.teamId, createdAt: l.createdAt ?? this.now() };
    this.labels.set(label.id, label);
    return label;
  }

  labelByName(name: string): EmLabel | undefined {
    return [...this.labels.values()].find((l) => l.name.toLowerCase() === name.toLowerCase());
  }

  /** An issue in `teamId` (default: the seeded team), in its first backlog state unless `stateId` is given. */
  addIssue(i: Partial<EmIssue> & { title: string }): EmIssue {
    const team = this.teams.get(i.teamId ?? this.defaults?.team.id ?? '');
    if (!team) throw new Error('addIssue: unknown team');
    const number = i.number ?? team.nextNumber;
    team.nextNumber = Math.max(team.nextNumber, number + 1);
    const states = this.teamStates(team.id);
    const createdAt = i.createdAt ?? this.now();
    const issue: EmIssue = {
      id: i.id ?? randomUUID(),
      number,
      identifier: `${team.key}-${number}`,
      teamId: team.id,
      projectId: i.projectId,
      stateId: i.stateId ?? (states.find((s) => s.type === 'backlog') ?? states[0])?.id ?? '',
      title: i.title,
      description: i.description,
      labelIds: i.labelIds ?? [],
      creatorId: i.creatorId ?? this.defaults?.human.id,
      assigneeId: i.assigneeId,
      delegateId: i.delegateId,
      createdAt,
      updatedAt: i.updatedAt ?? createdAt,
    };
    this.issues.set(issue.id, issue);
    return issue;
  }

  /** By id or by identifier (`ENG-12`), as Linear's `issue(id:)` accepts both. */
  findIssue(idOrIdentifier: string): EmIssue | undefined {
    return this.issues.get(idOrIdentifier) ?? [...this.issues.values()].find((i) => i.identifier.toLowerCase() === idOrIdentifier.toLowerCase());
  }

  issueUrl(issue: EmIssue): string {
    return `https://linear.app/${this.organization.urlKey}/issue/${issue.identifier.toLowerCase()}/${slug(issue.title)}`;
  }

  addComment(c: Partial<EmComment> & { issueId: string; body: string }): EmComment {
    const createdAt = c.createdAt ?? this.now();
    const comment: EmComment = { id: c.id ?? randomUUID(), issueId: c.issueId, userId: c.userId, body: c.body, parentId: c.parentId, createdAt, updatedAt: c.updatedAt ?? createdAt };
    this.comments.set(comment.id, comment);
    return comment;
  }

  addReaction(r: Partial<EmReaction> & { emoji: string; userId: string }): EmReaction {
    const reaction: EmReaction = { id: r.id ?? randomUUID(), issueId: r.issueId, commentId: r.commentId, userId: r.userId, emoji: r.emoji, createdAt: r.createdAt ?? this.now() };
    this.reactions.set(reaction.id, reaction);
    return reaction;
  }

  addAgentSession(s: Partial<EmAgentSession> & { appUserId: string }): EmAgentSession {
    const createdAt = s.createdAt ?? this.now();
    const session: EmAgentSession = {
      id: s.id ?? randomUUID(),
      issueId: s.issueId,
      commentId: s.commentId,
      appUserId: s.appUserId,
      creatorId: s.creatorId,
      status: s.status ?? 'pending',
      externalLink: s.externalLink,
      externalUrls: s.externalUrls ?? [],
      plan: s.plan,
      createdAt,
      updatedAt: s.updatedAt ?? createdAt,
    };
    this.agentSessions.set(session.id, session);
    return session;
  }

  commentsOn(issueId: string): EmComment[] {
    return [...this.comments.values()].filter((c) => c.issueId === issueId);
  }

  reactionsOn(target: { issueId?: string; commentId?: string }): EmReaction[] {
    return [...this.reactions.values()].filter((r) => (target.issueId ? r.issueId === target.issueId : r.commentId === target.commentId));
  }

  activitiesOf(agentSessionId: string): EmAgentActivity[] {
    return [...this.agentActivities.values()].filter((a) => a.agentSessionId === agentSessionId);
  }

  /** One organization, a viewer (bgagent) with an API key, a person, team ENG with the usual states, a `bgagent` label. */
  seedDefaultWorkspace(): SeededWorkspace {
    const viewer = this.addUser({ name: 'bgagent', displayName: 'bgagent', email: 'bgagent@acme.test' });
    const human = this.addUser({ name: 'Ada Lovelace', displayName: 'ada', email: 'ada@acme.test' });
    this.addApiKey(DEFAULT_API_KEY, viewer.id);
    const team = this.addTeam({ key: 'ENG', name: 'Engineering' });
    const states = Object.fromEntries(this.teamStates(team.id).map((s) => [s.name, s]));
    const label = this.addLabel({ name: 'bgagent' });
    this.defaults = { organization: this.organization, viewer, human, team, states, label, apiKey: DEFAULT_API_KEY };
    return this.defaults;
  }
}
