/*
 * app.js - the BIPostal web page: sign in, manage aliases, watch activity
 *
 * Purpose: a static page served by bipostal-dash that talks to the /v1/
 * REST API with a bearer token.  No framework, no remote assets.
 *
 * Interface: index.html provides the elements; this file wires them up on
 * DOMContentLoaded.  API calls go through api() which adds the bearer
 * token and turns error bodies {"code","errno","error","message"} into
 * thrown ApiError objects.  The event stream (GET /v1/events, SSE) is read
 * with fetch() and a stream reader, because EventSource cannot send an
 * Authorization header; it reconnects with Last-Event-ID.
 *
 * Labels (the alias "context", as in Loop's room context): the server
 * stores an opaque blob and never sees the key.  The blob is
 *	0x01 || IV (12 octets) || AES-256-GCM ciphertext and tag
 * sent base64-encoded; the additional authenticated data is
 * "bipostal-label:v1:" + origin, so a label cannot be moved by the server
 * to the alias of another site.  The key is 32 random octets made by
 * crypto.getRandomValues on first use and kept in localStorage under
 * "bipostal.labelkey.<account>"; it can be copied to another device as
 * base64url, or derived from a passphrase with PBKDF2-HMAC-SHA-256
 * (600,000 iterations, salt "bipostal-label-key:" + the account's email),
 * so that the same passphrase gives the same key everywhere.
 *
 * Failure: a 401 from any call signs out (the token expired); other API
 * errors are shown next to the form that caused them and announced to
 * screen readers; a label that does not decrypt under the present key is
 * shown as locked, never lost.
 *
 * Ownership: the bearer token lives in sessionStorage (gone when the tab
 * closes); the label key in localStorage.
 */
'use strict';

(function () {

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'bipostal.token';
const LABEL_PREFIX = 'bipostal.labelkey.';
const QUEUE_PREFIX = 'bipostal.queueindex.';
const PBKDF2_ITERATIONS = 600000;
const NOTES_MAX = 100;

const state = {
	token: null,
	me: null,
	aliases: new Map(),	/* token -> alias object (with .label) */
	labelKey: null,		/* CryptoKey */
	labelKeyRaw: null,	/* Uint8Array */
	stream: null,		/* AbortController of the event stream */
	lastEventId: '',
	reloadTimer: 0,
	pollTimer: 0,
};

/* ---------- helpers ---------- */

class ApiError extends Error {
	constructor(status, body) {
		super((body && (body.message || body.error)) || ('HTTP ' + status));
		this.status = status;
		this.errno = body ? body.errno : 0;
		this.body = body;
	}
}

function b64encode(bytes) {
	let s = '';
	for (let i = 0; i < bytes.length; i++)
		s += String.fromCharCode(bytes[i]);
	return btoa(s);
}

function b64decode(str) {
	let s = str.replace(/-/g, '+').replace(/_/g, '/').replace(/\s+/g, '');
	while (s.length % 4)
		s += '=';
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++)
		out[i] = bin.charCodeAt(i);
	return out;
}

function b64url(bytes) {
	return b64encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			e.className = v;
		else if (k === 'text')
			e.textContent = v;
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else if (k === 'dataset')
			Object.assign(e.dataset, v);
		else
			e.setAttribute(k, v === true ? '' : v);
	}
	for (const kid of kids) {
		if (kid === null || kid === undefined || kid === false)
			continue;
		e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
	}
	return e;
}

const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function relTime(sec) {
	const d = sec - Date.now() / 1000;
	const a = Math.abs(d);
	if (a < 45)
		return d < 0 ? 'just now' : 'in a moment';
	const units = [[60, 'second', 1], [3600, 'minute', 60], [86400, 'hour', 3600],
	    [86400 * 30, 'day', 86400], [86400 * 365, 'month', 86400 * 30],
	    [Infinity, 'year', 86400 * 365]];
	for (const [lim, unit, div] of units)
		if (a < lim)
			return relFmt.format(Math.round(d / div), unit);
	return '';
}

/* timeEl - a <time> with a relative text and the exact moment as title */
function timeEl(sec, never) {
	if (!sec)
		return el('span', { class: 'muted', text: never || '—' });
	const d = new Date(sec * 1000);
	return el('time', { datetime: d.toISOString(), title: absFmt.format(d),
	    dataset: { ts: String(sec) } }, relTime(sec));
}

let toastTimer = 0;
function toast(msg) {
	const t = $('toast');
	t.textContent = msg;
	t.classList.add('show');
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => t.classList.remove('show'), 4000);
}

async function copyText(text) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch (e) {
		/* Older browsers, or no permission: a selected textarea. */
		const ta = el('textarea', { 'aria-hidden': 'true', readonly: true });
		ta.value = text;
		ta.style.position = 'fixed';
		ta.style.opacity = '0';
		document.body.append(ta);
		ta.select();
		let ok = false;
		try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
		ta.remove();
		return ok;
	}
}

function aliasAddress(a) {
	if (a.alias)
		return a.alias;
	const dom = state.me && (state.me.alias_domain || state.me.domain);
	return dom ? a.token + '@' + dom : a.token;
}

function isExpired(a) {
	return a.expires_at && a.expires_at <= Date.now() / 1000;
}

/* ---------- API ---------- */

async function api(method, path, body, opts) {
	opts = opts || {};
	const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
	if (state.token && !headers.Authorization)
		headers.Authorization = 'Bearer ' + state.token;
	const init = { method, headers, cache: 'no-store', credentials: 'omit' };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, { message: 'The server cannot be reached. Check your connection and try again.' });
	}
	if (opts.raw && res.ok)
		return res;
	const text = await res.text();
	let json = null;
	if (text) {
		try { json = JSON.parse(text); } catch (e) { json = null; }
	}
	if (!res.ok) {
		const err = new ApiError(res.status, json);
		if (res.status === 401 && state.token && !opts.noSignout) {
			signOut('Your session has ended. Please sign in again.');
		}
		if (res.status === 429) {
			const ra = res.headers.get('Retry-After');
			err.message = 'Too many attempts' + (ra ? '; try again in ' + ra + ' s.' : '.');
		}
		throw err;
	}
	return json;
}

/* listOf - the array in a list answer, whatever it is called */
function listOf(j, ...names) {
	if (Array.isArray(j))
		return j;
	for (const n of names)
		if (j && Array.isArray(j[n]))
			return j[n];
	return [];
}

/* ---------- label encryption ---------- */

function labelAccount() {
	const me = state.me || {};
	return me.queue_id || me.email || 'default';
}

async function setLabelKey(raw, persist) {
	state.labelKeyRaw = raw;
	state.labelKey = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' },
	    false, ['encrypt', 'decrypt']);
	if (persist)
		localStorage.setItem(LABEL_PREFIX + labelAccount(), b64url(raw));
}

async function loadLabelKey() {
	const stored = localStorage.getItem(LABEL_PREFIX + labelAccount());
	if (stored) {
		try {
			const raw = b64decode(stored);
			if (raw.length === 32) {
				await setLabelKey(raw, false);
				return;
			}
		} catch (e) { /* fall through: a new key */ }
	}
	await setLabelKey(crypto.getRandomValues(new Uint8Array(32)), true);
}

async function deriveLabelKey(passphrase) {
	const email = (state.me && state.me.email) || labelAccount();
	const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase),
	    'PBKDF2', false, ['deriveBits']);
	const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256',
	    salt: new TextEncoder().encode('bipostal-label-key:' + email.toLowerCase()),
	    iterations: PBKDF2_ITERATIONS }, base, 256);
	return new Uint8Array(bits);
}

function labelAad(origin) {
	return new TextEncoder().encode('bipostal-label:v1:' + (origin || ''));
}

async function encryptLabel(text, origin) {
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv,
	    additionalData: labelAad(origin) }, state.labelKey, new TextEncoder().encode(text)));
	const out = new Uint8Array(1 + iv.length + ct.length);
	out[0] = 1;
	out.set(iv, 1);
	out.set(ct, 1 + iv.length);
	return b64url(out);
}

/* decryptLabel - the text, or null when there is none; throws on a wrong key */
async function decryptLabel(ctx, origin) {
	if (!ctx)
		return null;
	const buf = b64decode(ctx);
	if (buf.length < 1 + 12 + 16 || buf[0] !== 1)
		throw new Error('unknown label format');
	const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buf.subarray(1, 13),
	    additionalData: labelAad(origin) }, state.labelKey, buf.subarray(13));
	return new TextDecoder().decode(pt);
}

async function withLabel(a) {
	a.label = null;
	a.labelLocked = false;
	if (a.context) {
		try {
			a.label = await decryptLabel(a.context, a.origin);
		} catch (e) {
			a.labelLocked = true;
		}
	}
	return a;
}

/* ---------- views ---------- */

function showView(signedIn) {
	$('view-signin').hidden = signedIn;
	$('view-app').hidden = !signedIn;
	$('nav').hidden = !signedIn;
}

function signOut(msg) {
	stopStream();
	clearInterval(state.pollTimer);
	state.token = null;
	state.me = null;
	state.aliases.clear();
	state.listSig = '';
	state.labelKey = null;
	sessionStorage.removeItem(TOKEN_KEY);
	$('aliases-body').textContent = '';
	$('notes').textContent = '';
	$('notes-empty').hidden = false;
	$('created').hidden = true;
	for (const d of document.querySelectorAll('dialog[open]'))
		d.close();
	showView(false);
	$('signin-password').value = '';
	$('signin-totp').value = '';
	$('signin-totp-row').hidden = true;
	$('signin-error').textContent = msg || '';
	$('signin-email').focus();
}

async function signIn(ev) {
	ev.preventDefault();
	const email = $('signin-email').value.trim();
	const password = $('signin-password').value;
	const code = $('signin-totp').value.trim();
	const errBox = $('signin-error');
	errBox.textContent = '';
	if (!email || !password) {
		errBox.textContent = 'Enter your email and password.';
		(email ? $('signin-password') : $('signin-email')).focus();
		return;
	}
	const btn = $('signin-submit');
	btn.disabled = true;
	btn.textContent = 'Signing in…';
	try {
		const basic = 'Basic ' + b64encode(new TextEncoder().encode(email + ':' + password));
		const headers = { Authorization: basic };
		const body = {};
		if (code) {
			headers['X-TOTP'] = code;
			body.totp = code;
		}
		const j = await api('POST', '/v1/session', body, { headers, noSignout: true });
		const tok = j && (j.token || j.access_token);
		if (!tok)
			throw new ApiError(500, { message: 'The server sent no token.' });
		state.token = tok;
		sessionStorage.setItem(TOKEN_KEY, tok);
		$('signin-password').value = '';
		$('signin-totp').value = '';
		await enterApp(true);
	} catch (e) {
		if (e.errno === 109 || (e.body && /totp|second factor|code/i.test(e.body.message || ''))) {
			const row = $('signin-totp-row');
			const first = row.hidden;
			row.hidden = false;
			errBox.textContent = first ? 'Enter the code from your authenticator app.' :
			    'That code is not right. Try the current one.';
			$('signin-totp').focus();
		} else if (e.status === 401) {
			errBox.textContent = 'Wrong email or password.';
			$('signin-password').focus();
		} else {
			errBox.textContent = e.message;
		}
	} finally {
		btn.disabled = false;
		btn.textContent = 'Sign in';
	}
}

async function loadMe() {
	const j = await api('GET', '/v1/me');
	state.me = (j && j.user) ? Object.assign({}, j, j.user) : (j || {});
	$('who').textContent = state.me.email || '';
}

async function enterApp(focus) {
	await loadMe();
	await loadLabelKey();
	showView(true);
	await loadAliases();
	loadQueue().catch(() => {});
	loadKeys().catch(() => {});
	startStream();
	const moved = openHash();
	if (focus && !moved)
		$('create-origin').focus();
}

/*
 * openHash - links into the page from a forwarded message's footer, acted
 * on once signed in (the hash never reaches the server):
 *	#alias=<token>	shows that alias and puts the focus on it;
 *	#blob=<id>	offers that stripped attachment for download (the
 *			download needs the bearer token, which a plain link
 *			cannot carry).
 * True when the focus was moved.
 */
function openHash() {
	const m = /^#(alias|blob)=([0-9A-Za-z]{1,64})$/.exec(location.hash);
	if (!m)
		return false;
	history.replaceState(null, '', location.pathname + location.search);
	if (m[1] === 'blob') {
		addNote('attachment', { text: 'An attachment kept aside from a forwarded message:',
		    blobs: [{ id: m[2] }] });
		const link = document.querySelector('#notes .blob-link');
		if (link)
			link.focus();
		return !!link;
	}
	const token = m[2].toLowerCase();
	const a = state.aliases.get(token);
	if (!a || a.status === 'deleted') {
		toast('That alias is not in your list (deleted, or another account\'s).');
		return false;
	}
	$('filter').value = '';
	renderAliases();
	const row = $('alias-' + token);
	row.scrollIntoView({ block: 'center' });
	flashRow(token);
	const b = row.querySelector('[data-act=disable], [data-act=enable]');
	if (b)
		b.focus();
	return true;
}

/* ---------- aliases ---------- */

async function loadAliases() {
	const j = await api('GET', '/v1/aliases');
	const list = listOf(j, 'aliases', 'items', 'data');
	/* Nothing changed: leave the table (and the reader's place) alone. */
	const sig = JSON.stringify(list);
	if (sig === state.listSig && state.aliases.size >= list.length)
		return;
	state.listSig = sig;
	const fresh = new Map();
	await Promise.all(list.map(withLabel));
	for (const a of list)
		fresh.set(a.token, a);
	/* Aliases deleted here stay listed (under "Show deleted"). */
	for (const [t, a] of state.aliases)
		if (a.status === 'deleted' && !fresh.has(t))
			fresh.set(t, a);
	state.aliases = fresh;
	renderAliases();
}

function scheduleReload() {
	clearTimeout(state.reloadTimer);
	state.reloadTimer = setTimeout(() => loadAliases().catch(() => {}), 250);
}

function counters(a) {
	const c = a.counters || a;
	return { forwarded: c.forwarded || 0, blocked: c.blocked || 0,
	    replied: c.replied || 0, last_seen: c.last_seen || 0 };
}

function statusOf(a) {
	if (a.status === 'deleted')
		return 'deleted';
	if (isExpired(a))
		return 'expired';
	return a.status === 'active' ? 'active' : 'inactive';
}

const STATUS_TEXT = { active: 'Active', inactive: 'Disabled', deleted: 'Deleted', expired: 'Expired' };

function aliasRow(a) {
	const c = counters(a);
	const st = statusOf(a);
	const site = a.origin || '(no site)';
	const addr = aliasAddress(a);
	const tr = el('tr', { id: 'alias-' + a.token, class: 'alias-row' + (st === 'deleted' ? ' is-deleted' : ''),
	    dataset: { token: a.token, status: st } });

	let labelNode = null;
	if (a.labelLocked)
		labelNode = el('span', { class: 'label locked', title: 'Encrypted under another label key (see Settings)' },
		    'Label locked (other key)');
	else if (a.label)
		labelNode = el('span', { class: 'label' }, a.label);
	tr.append(el('td', { class: 'cell-site' },
	    el('span', { class: 'site' }, site), labelNode));

	const copyBtn = el('button', { type: 'button', class: 'btn small', 'aria-label': 'Copy address for ' + site,
	    onclick: async () => {
		const ok = await copyText(addr);
		toast(ok ? 'Copied ' + addr : 'Could not copy; select the address and copy it by hand.');
	    } }, 'Copy');
	tr.append(el('td', { class: 'cell-addr', 'data-label': 'Address' },
	    el('div', { class: 'addr-line' }, el('code', { class: 'addr', title: addr }, addr),
		st === 'deleted' ? null : copyBtn)));

	tr.append(el('td', { 'data-label': 'Status' },
	    el('span', { class: 'badge ' + st, dataset: { role: 'status' } }, STATUS_TEXT[st])));

	const ctr = (k, word) => el('li', { class: 'ctr ctr-' + k + (c[k] ? ' some' : '') },
	    el('span', { class: 'n-' + k }, c[k]), ' ', el('span', { class: 'ctr-word' }, word));
	tr.append(el('td', { 'data-label': 'Mail', class: 'cell-counters' },
	    el('ul', { class: 'counters', 'aria-label': 'Mail counters' },
		ctr('forwarded', 'forwarded'), ctr('blocked', 'blocked'), ctr('replied', 'replied'))));

	tr.append(el('td', { 'data-label': 'Created' }, timeEl(a.created)));
	tr.append(el('td', { 'data-label': 'Last mail', class: 'cell-last' }, timeEl(c.last_seen, 'never')));
	tr.append(el('td', { 'data-label': 'Expires' }, timeEl(a.expires_at, 'never')));

	const actions = el('div', { class: 'row-actions' });
	if (st !== 'deleted') {
		if (a.status === 'active')
			actions.append(el('button', { type: 'button', class: 'btn small', dataset: { act: 'disable' },
			    'aria-label': 'Disable alias for ' + site, onclick: () => setStatus(a.token, 'inactive') }, 'Disable'));
		else
			actions.append(el('button', { type: 'button', class: 'btn small', dataset: { act: 'enable' },
			    'aria-label': 'Enable alias for ' + site, onclick: () => setStatus(a.token, 'active') }, 'Enable'));
		actions.append(el('button', { type: 'button', class: 'btn small', dataset: { act: 'label' },
		    'aria-haspopup': 'dialog', 'aria-label': 'Edit label of alias for ' + site,
		    onclick: (e) => editLabel(a.token, e.currentTarget) }, 'Label'));
		actions.append(el('button', { type: 'button', class: 'btn small', dataset: { act: 'expiry' },
		    'aria-haspopup': 'dialog', 'aria-label': 'Set expiry of alias for ' + site,
		    onclick: (e) => editExpiry(a.token, e.currentTarget) }, 'Expiry'));
		actions.append(el('button', { type: 'button', class: 'btn small link-danger', dataset: { act: 'delete' },
		    'aria-haspopup': 'dialog', 'aria-label': 'Delete alias for ' + site,
		    onclick: (e) => confirmDelete(a.token, e.currentTarget) }, 'Delete'));
	}
	tr.append(el('td', { class: 'cell-actions' }, actions));
	return tr;
}

function visibleAliases() {
	const q = $('filter').value.trim().toLowerCase();
	const showDeleted = $('show-deleted').checked;
	return [...state.aliases.values()]
	    .filter((a) => showDeleted || a.status !== 'deleted')
	    .filter((a) => !q || (a.origin || '').toLowerCase().includes(q) ||
		(a.label || '').toLowerCase().includes(q) || aliasAddress(a).includes(q))
	    .sort((x, y) => (y.created || 0) - (x.created || 0));
}

function renderAliases() {
	const body = $('aliases-body');
	/* Keep focus on the same control across a re-render. */
	const act = document.activeElement;
	let keep = null;
	if (act && body.contains(act)) {
		const row = act.closest('tr');
		keep = { token: row && row.dataset.token, act: act.dataset.act };
	}
	const list = visibleAliases();
	body.textContent = '';
	for (const a of list)
		body.append(aliasRow(a));
	const live = [...state.aliases.values()].filter((a) => a.status !== 'deleted').length;
	$('alias-count').textContent = '(' + live + ')';
	$('aliases-empty').hidden = list.length > 0;
	$('aliases-table').hidden = list.length === 0;
	if (keep && keep.token) {
		const row = $('alias-' + keep.token);
		const b = row && (row.querySelector('[data-act="' + keep.act + '"]') ||
		    row.querySelector('[data-act="enable"],[data-act="disable"]') || row.querySelector('button'));
		if (b)
			b.focus();
	}
}

function flashRow(token) {
	const row = $('alias-' + token);
	if (!row)
		return;
	row.classList.remove('flash');
	void row.offsetWidth;
	row.classList.add('flash');
}

async function putAlias(a) {
	await withLabel(a);
	state.aliases.set(a.token, a);
	renderAliases();
	flashRow(a.token);
	return a;
}

/* recentlyMine - whether this page changed the alias in the last seconds */
const mine = new Map();
function markMine(token) {
	mine.set(token, Date.now());
}
function recentlyMine(token) {
	const t = token && mine.get(token);
	return !!t && Date.now() - t < 5000;
}

async function patchAlias(token, fields) {
	markMine(token);
	const j = await api('PATCH', '/v1/aliases/' + encodeURIComponent(token), fields);
	const a = (j && j.token) ? j : (j && j.alias) ? j.alias :
	    Object.assign({}, state.aliases.get(token), fields);
	return putAlias(a);
}

async function createAlias(ev) {
	ev.preventDefault();
	const input = $('create-origin');
	const origin = input.value.trim().toLowerCase()
	    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/[/?#].*$/, '');
	const err = $('create-error');
	err.textContent = '';
	input.removeAttribute('aria-invalid');
	if (!origin) {
		err.textContent = 'Enter the site this alias is for, such as shop.example.';
		input.setAttribute('aria-invalid', 'true');
		input.focus();
		return;
	}
	const label = $('create-label').value.trim();
	const exp = $('create-expiry').value;
	const body = { origin };
	const btn = $('create-submit');
	btn.disabled = true;
	try {
		if (label)
			body.context = await encryptLabel(label, origin);
		if (exp)
			body.expires_in = Number(exp);
		/* The stream may announce the alias before this answer. */
		markMine('origin:' + origin);
		const j = await api('POST', '/v1/aliases', body);
		const a = (j && j.token) ? j : (j && j.alias && j.alias.token) ? j.alias : j;
		markMine(a.token);
		await putAlias(a);
		$('created-site').textContent = origin;
		$('created-addr').textContent = aliasAddress(a);
		$('created').hidden = false;
		input.value = '';
		$('create-label').value = '';
		$('create-expiry').value = '';
		toast('Alias ready for ' + origin);
		$('created-copy').focus();
	} catch (e) {
		err.textContent = 'Could not create the alias: ' + e.message;
		input.focus();
	} finally {
		btn.disabled = false;
	}
}

async function setStatus(token, status) {
	const a = state.aliases.get(token);
	try {
		await patchAlias(token, { status });
		toast((status === 'active' ? 'Enabled' : 'Disabled') + ' the alias for ' + (a ? a.origin : token));
	} catch (e) {
		toast('Could not change the alias: ' + e.message);
	}
}

/* openDialog - show a modal dialog; resolves with its returnValue and
 * gives the focus back to the control that opened it */
function openDialog(dlg, opener, first) {
	return new Promise((resolve) => {
		dlg.returnValue = '';
		/* The list may be drawn anew while the dialog is open (an
		 * event, a refresh): then the focus goes back to the same
		 * button of the same alias in the new row. */
		const row = opener && opener.closest && opener.closest('tr');
		const token = row && row.dataset.token;
		const act = opener && opener.dataset && opener.dataset.act;
		dlg.addEventListener('close', function done() {
			dlg.removeEventListener('close', done);
			let back = opener;
			if (back && !back.isConnected && token) {
				const r = $('alias-' + token);
				back = r && (r.querySelector('[data-act="' + act + '"]') || r.querySelector('button'));
			}
			if (back && back.isConnected)
				back.focus();
			resolve(dlg.returnValue);
		});
		dlg.showModal();
		if (first)
			first.focus();
	});
}

async function confirmDelete(token, opener) {
	const a = state.aliases.get(token);
	if (!a)
		return;
	$('delete-site').textContent = a.origin || 'no site';
	$('delete-text').textContent = aliasAddress(a);
	const v = await openDialog($('dlg-delete'), opener, $('dlg-delete').querySelector('[value=cancel]'));
	if (v !== 'ok')
		return;
	/* Where the focus goes once the row is gone: the next row, or the heading. */
	const row = $('alias-' + token);
	const next = row && (row.nextElementSibling || row.previousElementSibling);
	const nextToken = next && next.dataset.token;
	try {
		markMine(token);
		await api('DELETE', '/v1/aliases/' + encodeURIComponent(token));
		a.status = 'deleted';
		state.aliases.set(token, a);
		renderAliases();
		toast('Deleted the alias for ' + (a.origin || token));
		const target = nextToken && $('alias-' + nextToken);
		const b = target && target.querySelector('button');
		(b || $('aliases-title')).focus();
	} catch (e) {
		toast('Could not delete the alias: ' + e.message);
	}
}

async function editLabel(token, opener) {
	const a = state.aliases.get(token);
	if (!a)
		return;
	const dlg = $('dlg-label');
	const input = $('label-input');
	$('label-for').textContent = 'For ' + (a.origin || aliasAddress(a));
	$('label-error').textContent = '';
	input.value = a.label || '';
	const v = await openDialog(dlg, opener, input);
	if (v !== 'ok' && v !== 'clear')
		return;
	const text = v === 'clear' ? '' : input.value.trim();
	try {
		const ctx = text ? await encryptLabel(text, a.origin) : null;
		await patchAlias(token, { context: ctx });
		toast(text ? 'Label saved' : 'Label removed');
	} catch (e) {
		toast('Could not save the label: ' + e.message);
	}
}

function toLocalInput(sec) {
	const d = new Date(sec * 1000);
	const p = (n) => String(n).padStart(2, '0');
	return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' +
	    p(d.getHours()) + ':' + p(d.getMinutes());
}

async function editExpiry(token, opener) {
	const a = state.aliases.get(token);
	if (!a)
		return;
	const input = $('expiry-input');
	$('expiry-for').textContent = 'For ' + (a.origin || aliasAddress(a));
	$('expiry-error').textContent = '';
	input.value = a.expires_at ? toLocalInput(a.expires_at) :
	    toLocalInput(Math.floor(Date.now() / 1000) + 30 * 86400);
	input.min = toLocalInput(Math.floor(Date.now() / 1000));
	const v = await openDialog($('dlg-expiry'), opener, input);
	if (v !== 'ok' && v !== 'clear')
		return;
	let at = 0;
	if (v === 'ok') {
		const t = new Date(input.value).getTime();
		if (!input.value || isNaN(t)) {
			toast('Pick a date and time for the expiry.');
			return;
		}
		at = Math.floor(t / 1000);
	}
	try {
		await patchAlias(token, { expires_at: at });
		toast(at ? 'The alias expires ' + relTime(at) : 'The alias no longer expires');
	} catch (e) {
		toast('Could not set the expiry: ' + e.message);
	}
}

/* ---------- activity: queue and event stream ---------- */

function noteText(type, d, a) {
	const site = (a && a.origin) || d.origin || '';
	if (type === 'mail')
		type = d.action || d.result || d.event || 'forwarded';
	const from = d.sender || d.from || '';
	const subj = d.subject ? ' “' + d.subject + '”' : '';
	switch (type) {
	case 'forwarded':
	case 'forward':
	case 'mail':
		return 'Mail' + subj + (from ? ' from ' + from : '') + ' forwarded' + (site ? ' (alias for ' + site + ')' : '') + '.';
	case 'blocked':
	case 'block':
		return 'Mail' + subj + (from ? ' from ' + from : '') + ' blocked' + (site ? ' at the disabled alias for ' + site : '') + '.';
	case 'bounce':
	case 'bounced':
		return 'Mail' + (from ? ' from ' + from : '') + (site ? ' to the alias for ' + site : '') + ' could not be delivered to your mailbox.';
	case 'replied':
	case 'reply':
		return 'Your reply' + subj + ' was sent' + (site ? ' from the alias for ' + site : '') + '.';
	case 'rejected':
		return 'Mail' + (from ? ' from ' + from : '') + ' refused' + (site ? ' at the alias for ' + site : '') + '.';
	case 'alias_created':
	case 'alias.created':
	case 'created':
		return 'New alias for ' + (site || 'a site') + '.';
	case 'alias_updated':
	case 'alias.updated':
	case 'updated':
	case 'alias':
		return 'Alias for ' + (site || 'a site') + ' changed' + (d.status ? ' (' + (STATUS_TEXT[d.status] || d.status) + ')' : '') + '.';
	case 'alias_deleted':
	case 'alias.deleted':
	case 'deleted':
		return 'Alias for ' + (site || 'a site') + ' deleted.';
	case 'attachment':
	case 'notification':
	case 'queue':
		return d.title || d.text || d.message || 'New notification.';
	default:
		return d.title || d.text || d.message || ('Event: ' + type);
	}
}

function noteKind(type, d) {
	if (type === 'mail' && d)
		type = d.action || d.result || d.event || 'forwarded';
	if (/block|reject/.test(type))
		return 'blocked';
	if (/delet/.test(type))
		return 'deleted';
	if (/forward|mail/.test(type))
		return 'forwarded';
	return 'other';
}

/* blobLink - a link that downloads a stripped part with the bearer token */
function blobLink(b) {
	const id = typeof b === 'string' ? b : (b.id || b.blob || b.token);
	const known = b && (b.name || b.filename);
	const name = known || 'attachment';
	const size = b && b.size ? ' (' + fmtSize(b.size) + ')' : '';
	const link = el('a', { href: '/v1/blobs/' + encodeURIComponent(id), class: 'blob-link',
	    dataset: { blob: id }, download: name }, known ? 'Download ' + known : 'Download the attachment');
	link.addEventListener('click', async (ev) => {
		ev.preventDefault();
		try {
			const res = await api('GET', '/v1/blobs/' + encodeURIComponent(id), undefined, { raw: true,
			    headers: { Accept: '*/*' } });
			const blob = await res.blob();
			const cd = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
			const url = URL.createObjectURL(blob);
			const a = el('a', { href: url, download: (b && (b.name || b.filename)) || (cd && cd[1]) || name });
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(url), 60000);
			toast('Downloading ' + name);
		} catch (e) {
			toast(e.status === 404 ? 'This attachment has expired.' : 'Download failed: ' + e.message);
		}
	});
	return el('li', {}, link, size);
}

function fmtSize(n) {
	if (n < 1024)
		return n + ' B';
	if (n < 1048576)
		return (n / 1024).toFixed(1) + ' KiB';
	return (n / 1048576).toFixed(1) + ' MiB';
}

function blobsOf(d) {
	const list = d.blobs || d.attachments || d.parts || d.stripped;
	if (Array.isArray(list))
		return list;
	if (d.blob)
		return [d.blob];
	if (d.blob_id)
		return [{ id: d.blob_id, name: d.name, size: d.size }];
	return [];
}

function addNote(type, d, when) {
	const list = $('notes');
	const a = d.token ? state.aliases.get(d.token) : (d.alias && d.alias.token ? state.aliases.get(d.alias.token) : null);
	const li = el('li', { class: 'note kind-' + noteKind(type, d), dataset: { type } });
	li.append(el('p', { class: 'note-text' }, noteText(type, d, a)));
	/* A notification of a shape we do not know: show its data. */
	if ((type === 'notification' || type === 'queue') && !(d.title || d.text || d.message)) {
		const raw = JSON.stringify(d, null, 1);
		li.append(el('pre', { class: 'note-data' }, raw.length > 600 ? raw.slice(0, 600) + '…' : raw));
	}
	const t = timeEl(when || Math.floor(Date.now() / 1000));
	t.classList.add('note-time');
	li.append(t);
	const files = blobsOf(d);
	if (files.length) {
		const ul = el('ul', { class: 'note-files', 'aria-label': 'Attachments kept aside' });
		for (const f of files)
			ul.append(blobLink(f));
		li.append(ul);
	}
	list.prepend(li);
	while (list.children.length > NOTES_MAX)
		list.lastElementChild.remove();
	$('notes-empty').hidden = true;
}

/* applyEvent - one event from the stream: update the list, add a note */
function applyEvent(type, data, id) {
	let d;
	try { d = data ? JSON.parse(data) : {}; } catch (e) { d = { text: data }; }
	if (d === null || typeof d !== 'object')
		d = { text: String(d) };
	if (type === 'ping' || type === 'keepalive' || type === 'hello')
		return;
	/* The alias object, when the event carries one, replaces ours. */
	const obj = (d.alias && typeof d.alias === 'object') ? d.alias : (d.token && d.status ? d : null);
	let prev = null;
	if (obj && obj.token) {
		prev = state.aliases.get(obj.token);
		putAlias(Object.assign({}, prev || {}, obj)).catch(() => {});
	} else {
		scheduleReload();
	}
	if (type === 'alias') {
		/* Our own changes were announced already; say what came from
		 * elsewhere (another device, a one-click disable link). */
		type = 'alias_' + (d.event || 'updated');
		if (recentlyMine(obj && obj.token) || recentlyMine(obj && 'origin:' + obj.origin))
			return;
		if (prev && obj && d.event === 'updated' && prev.status === obj.status &&
		    prev.context === obj.context && prev.expires_at === obj.expires_at)
			return;
	}
	if (typeof d.alias === 'string' && !d.token)
		d.token = d.alias.split('@')[0];
	if (type === 'queue') {
		/* The event only tells that a message arrived: fetch it. */
		loadQueue().catch(() => {});
		return;
	}
	addNote(type, d, d.time || d.ts || d.at);
	void id;
}

function addQueueMessage(msg) {
	let d = msg;
	if (typeof msg === 'string') {
		try { d = JSON.parse(msg); } catch (e) { d = { text: msg }; }
	}
	if (d === null || typeof d !== 'object')
		d = { text: String(d) };
	addNote(d.type || 'notification', d, d.time);
}

/*
 * loadQueue - fetch the notification messages not shown yet (Pushbox
 * semantics: messages with index >= N).  The next index to ask for is
 * kept per account in localStorage, so a reload shows only new ones.
 */
let queueBusy = null;
function loadQueue() {
	if (queueBusy)
		return queueBusy.then(() => loadQueue());
	queueBusy = (async () => {
		const k = QUEUE_PREFIX + labelAccount();
		let next = Number(localStorage.getItem(k) || 0);
		for (let round = 0; round < 10; round++) {
			const j = await api('GET', '/v1/queue?index=' + next + '&limit=100');
			if (j && j.status === 'lost')
				addNote('notification', { text: 'Some notifications expired before they could be shown.' });
			const msgs = listOf(j, 'messages', 'items');
			for (const m of msgs) {
				addQueueMessage(m.data !== undefined ? m.data : m);
				next = Math.max(next, Number(m.index) + 1);
			}
			localStorage.setItem(k, String(next));
			if (!msgs.length || !j || j.last !== false)
				break;
		}
	})().finally(() => { queueBusy = null; });
	return queueBusy;
}

function setStreamState(s, text) {
	const e = $('stream-state');
	e.dataset.state = s;
	e.textContent = text;
}

function stopStream() {
	if (state.stream)
		state.stream.abort();
	state.stream = null;
	clearInterval(state.pollTimer);
	state.pollTimer = 0;
}

async function startStream() {
	stopStream();
	const ctl = new AbortController();
	state.stream = ctl;
	let delay = 1000;
	while (!ctl.signal.aborted && state.token) {
		try {
			const headers = { Accept: 'text/event-stream', Authorization: 'Bearer ' + state.token };
			if (state.lastEventId)
				headers['Last-Event-ID'] = state.lastEventId;
			const res = await fetch('/v1/events', { headers, signal: ctl.signal, cache: 'no-store' });
			if (res.status === 401) {
				signOut('Your session has ended. Please sign in again.');
				return;
			}
			if (!res.ok || !res.body)
				throw new Error('HTTP ' + res.status);
			setStreamState('live', 'live');
			clearInterval(state.pollTimer);
			state.pollTimer = 0;
			delay = 1000;
			await readSse(res.body, ctl.signal);
		} catch (e) {
			if (ctl.signal.aborted)
				return;
		}
		if (ctl.signal.aborted)
			return;
		/* Disconnected: poll the list meanwhile, reconnect with backoff. */
		setStreamState('retry', 'reconnecting');
		if (!state.pollTimer)
			state.pollTimer = setInterval(() => loadAliases().catch(() => {}), 15000);
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(delay * 2, 30000);
		if (!ctl.signal.aborted)
			loadAliases().catch(() => {});
	}
}

/* readSse - parse text/event-stream (the WHATWG rules) until the end */
async function readSse(body, signal) {
	const reader = body.pipeThrough(new TextDecoderStream()).getReader();
	let buf = '';
	let type = '', data = [], id = null;
	const onAbort = () => reader.cancel().catch(() => {});
	signal.addEventListener('abort', onAbort);
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done)
				break;
			buf += value;
			let m;
			while ((m = /\r\n|\r|\n/.exec(buf)) !== null) {
				/* A lone CR at the end may be half of a CRLF. */
				if (m[0] === '\r' && m.index === buf.length - 1)
					break;
				const line = buf.slice(0, m.index);
				buf = buf.slice(m.index + m[0].length);
				if (line === '') {
					if (id !== null)
						state.lastEventId = id;
					if (data.length)
						applyEvent(type || 'message', data.join('\n'), id);
					type = '';
					data = [];
					id = null;
					continue;
				}
				if (line[0] === ':')
					continue;
				const c = line.indexOf(':');
				const field = c < 0 ? line : line.slice(0, c);
				let val = c < 0 ? '' : line.slice(c + 1);
				if (val[0] === ' ')
					val = val.slice(1);
				if (field === 'event')
					type = val;
				else if (field === 'data')
					data.push(val);
				else if (field === 'id' && !val.includes('\0'))
					id = val;
			}
		}
	} finally {
		signal.removeEventListener('abort', onAbort);
	}
}

/* ---------- settings ---------- */

async function openSettings(ev) {
	const dlg = $('dlg-settings');
	$('settings-saved').textContent = '';
	$('totp-error').textContent = '';
	$('key-msg').textContent = '';
	$('key-value').hidden = true;
	try {
		await loadMe();
	} catch (e) { /* show what we have */ }
	const me = state.me || {};
	const s = me.settings || me;
	const action = s.disabled_action || 'discard';
	for (const r of document.querySelectorAll('input[name=disabled_action]'))
		r.checked = r.value === action;
	renderTotp();
	renderKeyState();
	openDialog(dlg, ev && ev.currentTarget, document.querySelector('input[name=disabled_action]:checked'));
}

function totpEnrolled() {
	const me = state.me || {};
	const t = me.totp !== undefined ? me.totp : me.totp_enabled !== undefined ? me.totp_enabled : me.totp_enrolled;
	return t === true || t === 'enabled' || t === 'on' || t === 1;
}

function renderTotp() {
	const on = totpEnrolled();
	$('totp-state').textContent = on ?
	    'On: signing in asks for a code from your authenticator app.' :
	    'Off: only your password is asked for.';
	$('totp-start').textContent = on ? 'Set up a new authenticator app' : 'Set up an authenticator app';
	$('totp-enrol').hidden = true;
	$('totp-current-row').hidden = true;
}

async function saveDisabledAction(ev) {
	const v = ev.target.value;
	$('settings-saved').textContent = '';
	try {
		const j = await api('PATCH', '/v1/me', { disabled_action: v });
		if (j && typeof j === 'object')
			state.me = Object.assign(state.me || {}, j.user || j);
		$('settings-saved').textContent = v === 'reject' ?
		    'Saved: mail to disabled aliases is refused.' : 'Saved: mail to disabled aliases is dropped quietly.';
	} catch (e) {
		$('settings-saved').textContent = '';
		$('totp-error').textContent = '';
		toast('Could not save: ' + e.message);
	}
}

async function startTotp() {
	const err = $('totp-error');
	err.textContent = '';
	try {
		const body = {};
		if (totpEnrolled()) {
			const cur = $('totp-current').value.trim();
			if (!/^[0-9]{6,8}$/.test(cur)) {
				$('totp-current-row').hidden = false;
				err.textContent = 'To replace your authenticator app, first enter a code from the present one.';
				$('totp-current').focus();
				return;
			}
			body.totp = cur;
		}
		const j = await api('POST', '/v1/me/totp', body);
		state.totpSecret = j.secret;
		state.totpTicket = j.ticket;
		$('totp-current').value = '';
		$('totp-current-row').hidden = true;
		const uri = j.uri || j.otpauth || j.otpauth_uri || '';
		let secret = j.secret || '';
		if (!secret && uri) {
			const m = /[?&]secret=([^&]+)/.exec(uri);
			if (m)
				secret = decodeURIComponent(m[1]);
		}
		$('totp-secret').textContent = secret.replace(/(.{4})/g, '$1 ').trim();
		$('totp-uri').href = uri || '#';
		const img = $('totp-qr');
		if (j.qr && /^data:image\//.test(j.qr)) {
			img.src = j.qr;
		} else {
			const qr = (j.qr && j.qr[0] === '/') ? j.qr :
			    '/v1/me/totp/qr?secret=' + encodeURIComponent(j.secret || secret);
			const res = await api('GET', qr, undefined,
			    { raw: true, headers: { Accept: 'image/png' } });
			const blob = await res.blob();
			if (img.dataset.url)
				URL.revokeObjectURL(img.dataset.url);
			img.dataset.url = URL.createObjectURL(blob);
			img.src = img.dataset.url;
		}
		$('totp-enrol').hidden = false;
		$('totp-code').value = '';
		$('totp-code').focus();
	} catch (e) {
		err.textContent = 'Could not start: ' + e.message;
	}
}

async function verifyTotp(ev) {
	ev.preventDefault();
	const code = $('totp-code').value.trim();
	const err = $('totp-error');
	err.textContent = '';
	if (!/^[0-9]{6,8}$/.test(code)) {
		err.textContent = 'Enter the 6-digit code your app shows.';
		$('totp-code').focus();
		return;
	}
	try {
		// The ticket stands for the present code given at the start, which
		// the server wants before it replaces an enrolled secret.
		const j = await api('POST', '/v1/me/totp/verify', { secret: state.totpSecret, code, ticket: state.totpTicket });
		state.me = Object.assign(state.me || {}, (j && typeof j === 'object') ? (j.user || j) : {}, { totp: true });
		renderTotp();
		$('totp-state').textContent = 'On: signing in now asks for a code from your authenticator app.';
		toast('Two-step sign-in is on');
		$('totp-start').focus();
	} catch (e) {
		err.textContent = e.status === 401 || e.errno === 109 ?
		    'That code is not right. Check the time on your phone and try the current code.' :
		    'Could not verify: ' + e.message;
		$('totp-code').focus();
	}
}

function renderKeyState() {
	$('key-state').textContent = 'This browser holds the key for ' + ((state.me && state.me.email) || 'this account') + '.';
}

async function relabelAll() {
	await Promise.all([...state.aliases.values()].map(withLabel));
	renderAliases();
}

async function importKey(ev) {
	ev.preventDefault();
	const v = $('key-import').value.trim();
	const msg = $('key-msg');
	try {
		const raw = b64decode(v);
		if (raw.length !== 32)
			throw new Error('length');
		await setLabelKey(raw, true);
		$('key-import').value = '';
		await relabelAll();
		msg.textContent = 'Key saved in this browser; labels made with it can now be read.';
	} catch (e) {
		msg.textContent = 'That is not a label key (43 characters, copied from Settings on another device).';
		$('key-import').focus();
	}
}

async function passKey(ev) {
	ev.preventDefault();
	const p = $('key-pass').value;
	const msg = $('key-msg');
	if (p.length < 10) {
		msg.textContent = 'Use a passphrase of at least 10 characters.';
		$('key-pass').focus();
		return;
	}
	msg.textContent = 'Deriving the key…';
	try {
		const raw = await deriveLabelKey(p);
		await setLabelKey(raw, true);
		$('key-pass').value = '';
		await relabelAll();
		msg.textContent = 'Key derived from your passphrase and saved in this browser.';
	} catch (e) {
		msg.textContent = 'Could not derive the key: ' + e.message;
	}
}

/* ---------- start ---------- */

function tick() {
	for (const t of document.querySelectorAll('time[data-ts]'))
		t.textContent = relTime(Number(t.dataset.ts));
}

/* ---------- API keys (password managers) ---------- */

/* loadKeys - list the live API keys: name, scope, created, last used */
async function loadKeys() {
	const keys = listOf(await api('GET', '/v1/api-keys'), 'keys');
	const ul = $('apikey-list');
	ul.replaceChildren(...keys.map((k) => el('li', {},
		el('strong', {}, k.name), ' · ',
		k.scope === 'full' ? 'lists and changes aliases' : 'creates aliases', ' · made ',
		timeEl(k.created), ' · used ', timeEl(k.last_used, 'never'), ' ',
		el('button', { type: 'button', class: 'btn danger',
		    'aria-label': 'Revoke the key ' + k.name,
		    onclick: () => revokeKey(k) }, 'Revoke'))));
	$('apikey-empty').hidden = keys.length > 0;
}

/* createKey - make a key and show it, once */
async function createKey(ev) {
	ev.preventDefault();
	$('apikey-error').textContent = '';
	try {
		const k = await api('POST', '/v1/api-keys', {
			name: $('apikey-name').value.trim(), scope: $('apikey-scope').value });
		$('apikey-value').textContent = k.key;
		$('apikey-created').hidden = false;
		$('apikey-name').value = '';
		await loadKeys();
	} catch (e) {
		$('apikey-error').textContent = e.message;
	}
}

/* revokeKey - revoke a key for good */
async function revokeKey(k) {
	if (!window.confirm('Revoke the key "' + k.name + '"? What uses it stops working.'))
		return;
	try {
		await api('DELETE', '/v1/api-keys/' + k.id);
		$('apikey-created').hidden = true;
		await loadKeys();
		toast('Key revoked.');
	} catch (e) {
		$('apikey-error').textContent = e.message;
	}
}

document.addEventListener('DOMContentLoaded', async () => {
	if (!window.crypto || !crypto.subtle) {
		$('signin-error').textContent = 'This page needs a secure connection (HTTPS or localhost) for encryption.';
	}
	$('signin-form').addEventListener('submit', signIn);
	$('btn-signout').addEventListener('click', () => signOut('You have signed out.'));
	$('btn-settings').addEventListener('click', openSettings);
	$('settings-close').addEventListener('click', () => $('dlg-settings').close());
	$('create-form').addEventListener('submit', createAlias);
	$('apikey-form').addEventListener('submit', createKey);
	$('apikey-copy').addEventListener('click', async () => {
		toast(await copyText($('apikey-value').textContent) ? 'Key copied.' : 'Could not copy the key.');
	});
	$('created-copy').addEventListener('click', async () => {
		const addr = $('created-addr').textContent;
		const ok = await copyText(addr);
		toast(ok ? 'Copied ' + addr : 'Could not copy; select the address and copy it by hand.');
	});
	$('filter').addEventListener('input', renderAliases);
	$('show-deleted').addEventListener('change', renderAliases);
	for (const r of document.querySelectorAll('input[name=disabled_action]'))
		r.addEventListener('change', saveDisabledAction);
	$('totp-start').addEventListener('click', startTotp);
	$('totp-form').addEventListener('submit', verifyTotp);
	$('key-show').addEventListener('click', () => {
		const v = $('key-value');
		v.textContent = state.labelKeyRaw ? b64url(state.labelKeyRaw) : '';
		v.hidden = !v.hidden;
		$('key-show').textContent = v.hidden ? 'Show key' : 'Hide key';
	});
	$('key-copy').addEventListener('click', async () => {
		const ok = state.labelKeyRaw && await copyText(b64url(state.labelKeyRaw));
		$('key-msg').textContent = ok ? 'Key copied. Keep it somewhere safe.' : 'Could not copy the key.';
	});
	$('key-import-form').addEventListener('submit', importKey);
	$('key-pass-form').addEventListener('submit', passKey);
	for (const b of document.querySelectorAll('#dlg-expiry [data-quick]'))
		b.addEventListener('click', () => {
			$('expiry-input').value = toLocalInput(Math.floor(Date.now() / 1000) + Number(b.dataset.quick));
		});
	setInterval(tick, 30000);
	/* Counters also move without an event (the MX hosts count in the
	 * store): refresh them now and then while the page is seen. */
	setInterval(() => {
		if (state.token && !document.hidden && !document.querySelector('dialog[open]'))
			loadAliases().catch(() => {});
	}, 10000);
	window.addEventListener('hashchange', () => { if (state.token) openHash(); });

	state.token = sessionStorage.getItem(TOKEN_KEY);
	if (state.token) {
		try {
			await enterApp(false);
			$('main').focus();
			return;
		} catch (e) {
			if (e.status !== 401)
				console.error(e);
		}
	}
	signOut('');
});

})();
