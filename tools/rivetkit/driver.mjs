#!/usr/bin/env node
// rivetkit-driver.mjs — drive rivetkit's OWN file-system driver code (from an
// installed `rivetkit` npm package, tested with 2.2.1) from a plain Node script.
//
// Usage:
//   node rivetkit-driver.mjs <rootDir> '<json array of commands>'
//   echo '<json array of commands>' | node rivetkit-driver.mjs <rootDir>
//   node rivetkit-driver.mjs <rootDir> @commands.json
//
// Where rivetkit is looked up (first hit wins):
//   $RIVETKIT_NODE_MODULES (a node_modules dir containing rivetkit),
//   the script's own directory, then the current working directory.
//
// Env: RK_NO_CLOSE_AT_EXIT=1  leave KV databases open at exit like a real
//      rivetkit process (default: the harness closes them so WAL is checkpointed).
//      RIVET_LOG_LEVEL (default here: warn; logs go to stderr).
// Output: one JSON document on stdout:
//   {"rivetkit":"2.2.1","sqliteRuntime":"better-sqlite3","results":[{op,ok,result|error}, ...]}
// Bytes are hex strings (lowercase, no 0x); u64 timestamps are JSON numbers.
// All rivetkit logging (which normally goes to console.log) is redirected to
// stderr.  Exit code: 0 if the harness itself ran (individual commands may
// have ok:false), 2 on harness/setup failure.
//
// How it works: rivetkit's dist bundles the file-system driver into one chunk
// (dist/tsup/chunk-*.js containing `var FileSystemGlobalState = class`) but
// does not export FileSystemGlobalState.  A module-loader hook (module.register,
// Node >= 20.6) appends `export { ... }` lines to that chunk at load time, and
// adds two read-only-ish helper methods to the class (close all open KV
// databases / list open ones).  Nothing on disk under node_modules is changed,
// and every driver operation below runs rivetkit's unmodified code.
//
// Commands (objects; "id" is the actor id, bytes are hex strings):
//   {"op":"create","id","name","key":[..],"input"?}      FileSystemGlobalState.createActor (no start)
//   {"op":"loadOrCreate","id","name","key","input"?}     FileSystemGlobalState.loadOrCreateActor (no start)
//   {"op":"managerCreate","name","key","input"?}         FileSystemManagerDriver.createActor (id=generateActorId, STARTS actor)
//   {"op":"start","id"}                                  FileSystemGlobalState.startActor with a generic actor def
//   {"op":"sleep","id"}                                  FileSystemGlobalState.sleepActor
//   {"op":"destroy","id"}                                FileSystemGlobalState.destroyActor
//   {"op":"put","id","entries":[["k","v"],..]}            kvBatchPut
//   {"op":"get","id","keys":["k",..]}                     kvBatchGet  -> [hex|null]
//   {"op":"delete","id","keys":["k",..]}                  kvBatchDelete
//   {"op":"deleteRange","id","start","end"}               kvDeleteRange
//   {"op":"listPrefix","id","prefix","reverse"?,"limit"?} kvListPrefix -> [[k,v],..]
//   {"op":"listRange","id","start","end","reverse"?,"limit"?} kvListRange
//   {"op":"getState","id"}                                loadActorStateOrError (in-memory view)
//   {"op":"listActors","name"?}                           getActorsIterator (all) or manager.listActors(name)
//   {"op":"getForId","id"}                                FileSystemManagerDriver.getForId
//   {"op":"readStateFile","id"}                           raw file -> hex + decoded (ACTOR_STATE_VERSIONED)
//   {"op":"readAlarmFile","id"}                           raw alarm file -> hex + decoded
//   {"op":"writeStateFile","id","version":1|2|3,"state":{..}}  write a state file with rivetkit's encoder
//          state: {actorId,name,key,createdAt,kvStorage:[[k,v]..],startTs,connectableTs,sleepTs,destroyTs}
//          (v1: persistedData hex instead of kvStorage; converters applied by rivetkit)
//   {"op":"setAlarm","id","timestamp"}                    setActorAlarm (actor entry must exist: load it first)
//   {"op":"initialKv","input"?}                           getInitialActorKvState(input)
//   {"op":"generateId","name","key"}                      generateActorId
//   {"op":"openDbs"}                                      ids with an open KV SQLite handle
//   {"op":"closeDbs"}                                     close every open KV handle (harness helper; rivetkit
//                                                         itself only closes on sleep/destroy)
//   {"op":"restart"}                                      close all KV dbs, new FileSystemGlobalState on same root
//                                                         (=> runs temp cleanup + legacy KV migration again)
//   {"op":"files"}                                        recursive listing of root (name -> size)
//   {"op":"sleepMs","ms"}                                 wait
//   {"op":"dumpDb","id"}                                  read <root>/databases/<id>.db with a SEPARATE connection

import { register, createRequire } from "node:module";
import { pathToFileURL, fileURLToPath } from "node:url";
import fs from "node:fs";
import path from "node:path";

// ---------------------------------------------------------------- output hygiene
const realStdoutWrite = process.stdout.write.bind(process.stdout);
for (const m of ["log", "info", "debug", "warn", "trace"]) {
	console[m] = (...a) => console.error(...a);
}
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
if (!process.env.RIVET_LOG_LEVEL && !process.env.LOG_LEVEL) {
	process.env.RIVET_LOG_LEVEL = "warn";
}

function fail(msg) {
	realStdoutWrite(`${JSON.stringify({ harnessError: msg })}\n`);
	process.exit(2);
}

// ---------------------------------------------------------------- args
const [rootArg, cmdArg] = process.argv.slice(2);
if (!rootArg) fail("usage: rivetkit-driver.mjs <rootDir> [<json>|@file] (or json on stdin)");
const root = path.resolve(rootArg);
let cmdText;
if (cmdArg === undefined || cmdArg === "-") cmdText = fs.readFileSync(0, "utf8");
else if (cmdArg.startsWith("@")) cmdText = fs.readFileSync(cmdArg.slice(1), "utf8");
else cmdText = cmdArg;
let commands;
try {
	commands = JSON.parse(cmdText);
	if (!Array.isArray(commands)) throw new Error("commands must be a JSON array");
} catch (e) {
	fail(`bad commands: ${e.message}`);
}

// ---------------------------------------------------------------- locate rivetkit
function findRivetkit() {
	const bases = [];
	if (process.env.RIVETKIT_NODE_MODULES) bases.push(path.join(path.resolve(process.env.RIVETKIT_NODE_MODULES), "..", "x.js"));
	bases.push(fileURLToPath(import.meta.url));
	bases.push(path.join(process.cwd(), "x.js"));
	for (const b of bases) {
		try {
			const req = createRequire(b);
			const pkgJson = req.resolve("rivetkit/package.json");
			return path.dirname(pkgJson);
		} catch {}
		try {
			const req = createRequire(b);
			// exports map may hide package.json; resolve main (cjs) and walk up
			const main = req.resolve("rivetkit");
			let d = path.dirname(main);
			while (d !== path.dirname(d)) {
				if (fs.existsSync(path.join(d, "package.json"))) {
					const p = JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8"));
					if (p.name === "rivetkit") return d;
				}
				d = path.dirname(d);
			}
		} catch {}
	}
	return undefined;
}
const rkDir = findRivetkit();
if (!rkDir) fail("cannot find an installed rivetkit package (set RIVETKIT_NODE_MODULES)");
const rkVersion = JSON.parse(fs.readFileSync(path.join(rkDir, "package.json"), "utf8")).version;
const tsupDir = path.join(rkDir, "dist", "tsup");
const chunkFile = fs
	.readdirSync(tsupDir)
	.filter((f) => /^chunk-.*\.js$/.test(f))
	.find((f) => fs.readFileSync(path.join(tsupDir, f), "utf8").includes("var FileSystemGlobalState = class"));
if (!chunkFile) fail(`no chunk with FileSystemGlobalState in ${tsupDir}`);
const chunkUrl = pathToFileURL(path.join(tsupDir, chunkFile)).href;

// ---------------------------------------------------------------- loader hook
const hookSrc = `
const TARGET = ${JSON.stringify(chunkUrl)};
const WANT = ["FileSystemGlobalState","FileSystemActorDriver","FileSystemManagerDriver",
  "ACTOR_STATE_VERSIONED","ACTOR_ALARM_VERSIONED","CURRENT_VERSION","generateActorId",
  "importNodeDependencies","getInitialActorKvState","loadSqliteRuntime","computePrefixUpperBound",
  "estimateKvSize","validateKvEntries","validateKvKey","validateKvKeys"];
export async function load(url, context, nextLoad) {
  const r = await nextLoad(url, context);
  if (url !== TARGET) return r;
  let src = typeof r.source === "string" ? r.source : Buffer.from(r.source).toString("utf8");
  const anchor = "  #closeActorKvDatabase(actorId) {";
  if (src.includes(anchor)) {
    src = src.replace(anchor,
      "  __rkCloseAllKvDatabases() { const ids = Array.from(this.#actorKvDatabases.keys()); for (const id of ids) this.#closeActorKvDatabase(id); return ids; }\\n" +
      "  __rkOpenKvDatabaseIds() { return Array.from(this.#actorKvDatabases.keys()); }\\n" + anchor);
  }
  const have = WANT.filter((n) => new RegExp("(^|\\\\n)\\\\s*(var|let|const|function|class|async function) " + n + "\\\\b").test(src)
    || new RegExp("import \\\\{[^}]*\\\\b" + n + "\\\\b[^}]*\\\\}").test(src));
  src += "\\nexport { " + have.map((n) => n + " as __rk_" + n).join(", ") + " };\\n";
  return { ...r, source: src, shortCircuit: true };
}
`;
register(`data:text/javascript,${encodeURIComponent(hookSrc)}`);

// ---------------------------------------------------------------- load rivetkit
let RK, rkMain;
try {
	RK = await import(chunkUrl);
	rkMain = await import(pathToFileURL(path.join(tsupDir, "mod.js")).href);
} catch (e) {
	fail(`failed to import rivetkit: ${e?.stack ?? e}`);
}
const FileSystemGlobalState = RK.__rk_FileSystemGlobalState;
if (!FileSystemGlobalState) fail("loader hook did not expose FileSystemGlobalState");
RK.__rk_importNodeDependencies();

// ---------------------------------------------------------------- helpers
const hex = (u) => Buffer.from(u instanceof ArrayBuffer ? new Uint8Array(u) : u).toString("hex");
const unhex = (s) => {
	if (typeof s !== "string" || !/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`bad hex: ${JSON.stringify(s)}`);
	return new Uint8Array(Buffer.from(s, "hex"));
};
const tsOut = (v) => (v === null || v === undefined ? null : Number(v));
const tsIn = (v) => (v === null || v === undefined ? null : BigInt(v));
function stateOut(s) {
	if (!s) return s;
	const o = {
		actorId: s.actorId,
		name: s.name,
		key: [...s.key],
		createdAt: tsOut(s.createdAt),
	};
	if ("kvStorage" in s) o.kvStorage = (s.kvStorage ?? []).map((e) => [hex(e.key), hex(e.value)]);
	if ("persistedData" in s) o.persistedData = hex(s.persistedData);
	for (const k of ["startTs", "connectableTs", "sleepTs", "destroyTs"]) if (k in s) o[k] = tsOut(s[k]);
	return o;
}
function errOut(e) {
	const o = { name: e?.constructor?.name ?? typeof e, message: String(e?.message ?? e) };
	if (e?.group) o.group = e.group;
	if (e?.code) o.code = e.code;
	if (e?.cause) o.cause = String(e.cause?.message ?? e.cause);
	return o;
}
function listFiles(dir, base = dir, out = {}) {
	if (!fs.existsSync(dir)) return out;
	for (const f of fs.readdirSync(dir).sort()) {
		const p = path.join(dir, f);
		const st = fs.statSync(p);
		if (st.isDirectory()) {
			out[`${path.relative(base, p)}/`] = "dir";
			listFiles(p, base, out);
		} else out[path.relative(base, p)] = st.size;
	}
	return out;
}

// ---------------------------------------------------------------- driver context
// rivetkit 2.2.x: constructor(options = {}); 2.0.x (legacy, KV in state files): constructor(persist = true, customPath)
const positionalCtor = /constructor\(\s*persist\b/.test(FileSystemGlobalState.toString());
function newState() {
	const s = positionalCtor
		? new FileSystemGlobalState(true, root)
		: new FileSystemGlobalState({ persist: true, customPath: root });
	if (s.storagePath !== root) fail(`driver storage path ${s.storagePath} != ${root}`);
	return s;
}
let state = newState();
let mgr; // { config, manager, actorDriver, inlineClient }

function genericActorDef() {
	return rkMain.actor({ state: {}, actions: { ping: () => "pong" } });
}
function ensureManager() {
	if (mgr) return mgr;
	const config = rkMain.setup({ use: {}, storagePath: root, noWelcome: true }).parseConfig();
	const ctx = { config };
	// Same shape as createFileSystemOrMemoryDriver() in src/drivers/file-system/mod.ts,
	// but around OUR FileSystemGlobalState instance.
	const driverConfig = {
		name: "file-system",
		displayName: "File System",
		manager: (c) => new RK.__rk_FileSystemManagerDriver(c, state, driverConfig),
		actor: (c, managerDriver, inlineClient) => {
			const actorDriver = new RK.__rk_FileSystemActorDriver(c, managerDriver, inlineClient, state);
			state.onRunnerStart(c, inlineClient, actorDriver);
			ctx.actorDriver = actorDriver;
			ctx.inlineClient = inlineClient;
			return actorDriver;
		},
		autoStartActorDriver: true,
	};
	ctx.manager = driverConfig.manager(config);
	mgr = ctx;
	return mgr;
}
function registerName(name) {
	const m = ensureManager();
	if (!m.config.use[name]) m.config.use[name] = genericActorDef();
}

const ops = {
	async create(c) {
		await state.createActor(c.id, c.name, c.key ?? [], c.input);
		return stateOut((await state.loadActor(c.id)).state);
	},
	async loadOrCreate(c) {
		const e = await state.loadOrCreateActor(c.id, c.name, c.key ?? [], c.input);
		return stateOut(e.state);
	},
	async managerCreate(c) {
		registerName(c.name);
		return await ensureManager().manager.createActor({ name: c.name, key: c.key ?? [], input: c.input });
	},
	async start(c) {
		const entry = await state.loadActor(c.id);
		if (entry.state) registerName(entry.state.name);
		const m = ensureManager();
		const inst = await state.startActor(m.config, m.inlineClient, m.actorDriver, c.id);
		return { started: true, actorId: inst.id, state: stateOut((await state.loadActor(c.id)).state) };
	},
	async sleep(c) {
		await state.sleepActor(c.id);
		return null;
	},
	async destroy(c) {
		await state.destroyActor(c.id);
		return null;
	},
	async put(c) {
		await state.kvBatchPut(c.id, (c.entries ?? []).map(([k, v]) => [unhex(k), unhex(v)]));
		return null;
	},
	async get(c) {
		const r = await state.kvBatchGet(c.id, (c.keys ?? []).map(unhex));
		return r.map((v) => (v === null ? null : hex(v)));
	},
	async delete(c) {
		await state.kvBatchDelete(c.id, (c.keys ?? []).map(unhex));
		return null;
	},
	async deleteRange(c) {
		await state.kvDeleteRange(c.id, unhex(c.start), unhex(c.end));
		return null;
	},
	async listPrefix(c) {
		const opts = {};
		if (c.reverse !== undefined) opts.reverse = c.reverse;
		if (c.limit !== undefined) opts.limit = c.limit;
		const r = await state.kvListPrefix(c.id, unhex(c.prefix ?? ""), opts);
		return r.map(([k, v]) => [hex(k), hex(v)]);
	},
	async listRange(c) {
		const opts = {};
		if (c.reverse !== undefined) opts.reverse = c.reverse;
		if (c.limit !== undefined) opts.limit = c.limit;
		const r = await state.kvListRange(c.id, unhex(c.start), unhex(c.end), opts);
		return r.map(([k, v]) => [hex(k), hex(v)]);
	},
	async getState(c) {
		return stateOut(await state.loadActorStateOrError(c.id));
	},
	async listActors(c) {
		if (c.name !== undefined) {
			return await ensureManager().manager.listActors({ name: c.name });
		}
		const out = [];
		for await (const s of state.getActorsIterator({ cursor: c.cursor })) out.push(stateOut(s));
		return out;
	},
	async getForId(c) {
		return (await ensureManager().manager.getForId({ actorId: c.id })) ?? null;
	},
	async readStateFile(c) {
		const p = state.getActorStatePath(c.id);
		if (!fs.existsSync(p)) return null;
		const b = new Uint8Array(fs.readFileSync(p));
		let decoded = null, decodeError = null;
		try {
			decoded = stateOut(RK.__rk_ACTOR_STATE_VERSIONED.deserializeWithEmbeddedVersion(b));
		} catch (e) {
			decodeError = errOut(e);
		}
		return { hex: hex(b), version: b.length >= 2 ? b[0] | (b[1] << 8) : null, decoded, decodeError };
	},
	async readAlarmFile(c) {
		const p = state.getActorAlarmPath(c.id);
		if (!fs.existsSync(p)) return null;
		const b = new Uint8Array(fs.readFileSync(p));
		const d = RK.__rk_ACTOR_ALARM_VERSIONED.deserializeWithEmbeddedVersion(b);
		return { hex: hex(b), decoded: { actorId: d.actorId, timestamp: Number(d.timestamp) } };
	},
	async writeStateFile(c) {
		const s = c.state;
		const version = c.version ?? RK.__rk_CURRENT_VERSION;
		const bare = {
			actorId: s.actorId ?? c.id,
			name: s.name,
			key: s.key ?? [],
			createdAt: BigInt(s.createdAt ?? Date.now()),
			kvStorage: (s.kvStorage ?? []).map(([k, v]) => ({ key: unhex(k).buffer, value: unhex(v).buffer })),
			startTs: tsIn(s.startTs),
			connectableTs: tsIn(s.connectableTs),
			sleepTs: tsIn(s.sleepTs),
			destroyTs: tsIn(s.destroyTs),
		};
		if (version === 1 && s.persistedData !== undefined) {
			bare.kvStorage = [{ key: new Uint8Array([1]).buffer, value: unhex(s.persistedData).buffer }];
		}
		let bytes;
		if (version === 2) {
			// vbare 0.0.4 applies the wrong converter chain when serializing to an
			// intermediate version (v3->v2 is skipped, v2->v1 applied), so build
			// v2 by hand: v2 == v3 minus the four trailing optional u64 fields.
			for (const k of ["startTs", "connectableTs", "sleepTs", "destroyTs"]) bare[k] = null;
			const v3 = RK.__rk_ACTOR_STATE_VERSIONED.serializeWithEmbeddedVersion(bare, 3);
			bytes = v3.slice(0, v3.length - 4);
			bytes[0] = 2;
			bytes[1] = 0;
		} else {
			bytes = RK.__rk_ACTOR_STATE_VERSIONED.serializeWithEmbeddedVersion(bare, version);
		}
		fs.mkdirSync(path.dirname(state.getActorStatePath(c.id)), { recursive: true });
		fs.writeFileSync(state.getActorStatePath(c.id), bytes);
		return { hex: hex(bytes) };
	},
	async setAlarm(c) {
		await state.loadActor(c.id);
		await state.setActorAlarm(c.id, Number(c.timestamp));
		return null;
	},
	async initialKv(c) {
		return RK.__rk_getInitialActorKvState(c.input).map(([k, v]) => [hex(k), hex(v)]);
	},
	async generateId(c) {
		return RK.__rk_generateActorId(c.name, c.key ?? []);
	},
	async closeDbs() {
		return state.__rkCloseAllKvDatabases ? state.__rkCloseAllKvDatabases() : null;
	},
	async openDbs() {
		return state.__rkOpenKvDatabaseIds ? state.__rkOpenKvDatabaseIds() : null;
	},
	async restart() {
		const closed = state.__rkCloseAllKvDatabases ? state.__rkCloseAllKvDatabases() : null;
		state = newState();
		mgr = undefined;
		return { closed, actorCountOnStartup: state.actorCountOnStartup };
	},
	async files() {
		return listFiles(root);
	},
	async sleepMs(c) {
		await new Promise((r) => setTimeout(r, c.ms ?? 0));
		return null;
	},
	async dumpDb(c) {
		const rt = RK.__rk_loadSqliteRuntime();
		const p = state.getActorDbPath(c.id);
		if (!fs.existsSync(p)) return null;
		// NB: rt.open() applies rivetkit's pragmas (busy_timeout, WAL)
		const db = rt.open(p);
		try {
			const rows = db.all("SELECT key, value FROM kv ORDER BY key");
			const schema = db.all("SELECT type, name, sql FROM sqlite_master ORDER BY name");
			const jm = db.get("PRAGMA journal_mode");
			return {
				journalMode: jm ? Object.values(jm)[0] : null,
				schema,
				rows: rows.map((r) => [hex(r.key), hex(r.value)]),
			};
		} finally {
			db.close();
		}
	},
};

const results = [];
for (const c of commands) {
	const fn = ops[c?.op];
	if (!fn) {
		results.push({ op: c?.op, ok: false, error: { name: "HarnessError", message: `unknown op ${c?.op}` } });
		continue;
	}
	try {
		const result = await fn(c);
		results.push({ op: c.op, ...(c.id ? { id: c.id } : {}), ok: true, result });
	} catch (e) {
		results.push({ op: c.op, ...(c.id ? { id: c.id } : {}), ok: false, error: errOut(e) });
	}
}

// close KV handles so the WAL is checkpointed and files are in a clean state
// (set RK_NO_CLOSE_AT_EXIT=1 to mimic a real rivetkit process, which never
// closes KV databases at exit: the -wal/-shm files are then left behind)
let closedAtExit = null;
if (process.env.RK_NO_CLOSE_AT_EXIT !== "1") {
	try {
		closedAtExit = state.__rkCloseAllKvDatabases ? state.__rkCloseAllKvDatabases() : null;
	} catch {}
}

let sqliteRuntime = null;
try {
	sqliteRuntime = RK.__rk_loadSqliteRuntime().kind;
} catch {}
realStdoutWrite(
	`${JSON.stringify({ rivetkit: rkVersion, node: process.version, sqliteRuntime, results, closedAtExit }, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}\n`,
	() => process.exit(0),
);
