// ui.mjs - the BIPostal web page, driven in headless Debian Chromium
//
// Run by ui.test with the environment of a detached tools/run-demo
// (DEMO_URL, DEMO_USER, DEMO_PASSWORD, DEMO_SMTP_PORT, DEMO_MAILBOX,
// DEMO_ALIAS_DOMAIN, DEMO_SERVER_KEY_FILE) and PW_MODULES (where npm put
// playwright-core), ARTIFACTS (screenshot folder), CHROMIUM.
//
// The scenario: sign in; create an alias with an encrypted label; copy its
// address; mail it through Postfix and watch the counter move and the
// notification arrive without a reload; disable it and see the next mail
// blocked; delete it (with the confirmation dialog) and see mail refused;
// settings (disabled-alias action, TOTP enrolment with the QR code, then a
// sign-in that asks for the code); keyboard and screen-reader basics; the
// phone layout.  Prints TAP; every failure also leaves a screenshot.

import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (k, d) => {
	const v = process.env[k] ?? d;
	if (v === undefined) {
		console.log(`not ok 1 - environment variable ${k} is not set`);
		console.log('1..1');
		process.exit(1);
	}
	return v;
};

const require = createRequire(path.join(env('PW_MODULES'), 'x.js'));
const { chromium } = require('playwright-core');

const URL0 = env('DEMO_URL');
const ORIGIN = new URL(URL0).origin;
const USER = env('DEMO_USER');
const PASSWORD = env('DEMO_PASSWORD');
const SMTP_PORT = env('DEMO_SMTP_PORT');
const MAILBOX = env('DEMO_MAILBOX');
const DOMAIN = env('DEMO_ALIAS_DOMAIN');
const ARTIFACTS = env('ARTIFACTS', path.resolve('tests/artifacts/browser'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

fs.mkdirSync(ARTIFACTS, { recursive: true });

let n = 0;
let failed = 0;
let page = null;

function ok(cond, name, diag) {
	n++;
	if (cond) {
		console.log(`ok ${n} - ${name}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${name}`);
		if (diag)
			for (const line of String(diag).slice(0, 3000).split('\n').slice(0, 40))
				console.log(`# ${line}`);
	}
	return cond;
}

async function shot(name) {
	if (!page)
		return;
	try {
		await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true });
	} catch (e) {
		console.log(`# screenshot ${name}: ${e.message}`);
	}
}

/* step - run one check; an exception is a failure with a screenshot */
async function step(name, fn) {
	try {
		const r = await fn();
		const good = r === undefined ? true : !!r;
		if (!good)
			await shot('fail-' + (n + 1));
		return ok(good, name);
	} catch (e) {
		await shot('fail-' + (n + 1));
		return ok(false, name, e.stack || e.message);
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, ms, what) {
	const end = Date.now() + ms;
	let last;
	while (Date.now() < end) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e.message;
		}
		await sleep(200);
	}
	throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
}

/* totp - RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret */
function totp(secret, t = Date.now()) {
	const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const c of secret.replace(/[\s=]/g, '').toUpperCase())
		bits += alpha.indexOf(c).toString(2).padStart(5, '0');
	const key = Buffer.alloc(Math.floor(bits.length / 8));
	for (let i = 0; i < key.length; i++)
		key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
	const ctr = Buffer.alloc(8);
	ctr.writeBigUInt64BE(BigInt(Math.floor(t / 1000 / 30)));
	const h = createHmac('sha1', key).update(ctr).digest();
	const o = h[h.length - 1] & 15;
	const v = (h.readUInt32BE(o) & 0x7fffffff) % 1000000;
	return String(v).padStart(6, '0');
}

/* swaks - send one message through the demo's Postfix; {code, out} */
function swaks(to, subject, extra = []) {
	if (!/^[0-9a-z]+@/.test(to))
		throw new Error('no alias address to mail (an earlier step failed)');
	const r = spawnSync('swaks', ['--server', `127.0.0.1:${SMTP_PORT}`,
	    '--from', 'news@shop.example', '--to', to,
	    '--header', `Subject: ${subject}`, '--body', `Test message ${subject}.`,
	    '--timeout', '30', ...extra], { encoding: 'utf8', timeout: 60000, input: '' });
	return { code: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

/* delivered - the names of mailbox files that contain text */
function delivered(text) {
	const found = [];
	let names = [];
	try {
		names = fs.readdirSync(MAILBOX);
	} catch (e) {
		return found;
	}
	for (const f of names) {
		try {
			if (fs.readFileSync(path.join(MAILBOX, f), 'latin1').includes(text))
				found.push(f);
		} catch (e) { /* being written */ }
	}
	return found;
}

const rowOf = (token) => page.locator(`#alias-${token}`);
const counter = async (token, which) =>
	Number((await rowOf(token).locator(`.n-${which}`).textContent()).trim());

/* ------------------------------------------------------------------ */

/* mailLink - the first match of re in a delivered message as a mail
 * client reads it: its bytes, or, when the text part is
 * quoted-printable, with the soft breaks and escapes undone */
function mailLink(f, re) {
	const raw = fs.readFileSync(path.join(MAILBOX, f), 'latin1');
	const m = re.exec(raw);
	if (m || !/^Content-Transfer-Encoding:\s*quoted-printable/mi.test(raw))
		return m;
	return re.exec(raw.replace(/=\r?\n/g, '')
	    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage'];

/* sessionless - fn(page) in a browser of its own, started for it: no
 * session, no storage, no cookie of the main one (a mail client's click) */
async function sessionless(fn) {
	const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
	try {
		const ctx = await b.newContext({ acceptDownloads: true, locale: 'en-GB', timezoneId: 'UTC' });
		const p = await ctx.newPage();
		p.setDefaultTimeout(15000);
		return await fn(p);
	} finally {
		await b.close();
	}
}

const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'bipostal-chromium-'));
const browser = await chromium.launchPersistentContext(userData, {
	executablePath: CHROMIUM,
	headless: true,
	args: CHROMIUM_ARGS,
	viewport: { width: 1280, height: 900 },
	permissions: ['clipboard-read', 'clipboard-write'],
	acceptDownloads: true,
	locale: 'en-GB',
	timezoneId: 'UTC',
});
page = browser.pages()[0] || await browser.newPage();
page.setDefaultTimeout(15000);

const consoleErrors = [];
const foreign = [];
page.on('console', (m) => {
	/* The refused sign-ins above are meant to answer 401. */
	if (m.type() === 'error' && !/status of 401\b/.test(m.text()))
		consoleErrors.push(m.text());
});
page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
page.on('request', (r) => {
	const u = r.url();
	if (!u.startsWith(ORIGIN + '/') && !u.startsWith('blob:') && !u.startsWith('data:'))
		foreign.push(u);
});

const site = `shop-${randomBytes(3).toString('hex')}.example`;
const label = 'Order confirmations ' + randomBytes(2).toString('hex');
let token = '';
let address = '';
let totpSecret = '';

try {
	await step('the page loads from the dash with its own assets', async () => {
		const res = await page.goto(URL0, { waitUntil: 'load' });
		await page.locator('#signin-email').waitFor({ state: 'visible' });
		await shot('01-signin');
		return res.ok() && (await page.title()).includes('BIPostal');
	});

	await step('the focus starts in the email field, and every field has a label', async () => {
		const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
		const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
		    .filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) &&
			!e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') &&
			!e.closest('label'))
		    .map((e) => e.id || e.name));
		if (unlabelled.length)
			throw new Error('without a label: ' + unlabelled.join(', '));
		return focused === 'signin-email';
	});

	await step('a wrong password is refused with a message', async () => {
		await page.fill('#signin-email', USER);
		await page.fill('#signin-password', 'not-the-password');
		await page.press('#signin-password', 'Enter');
		await until(async () => (await page.textContent('#signin-error')).trim().length > 0, 10000, 'an error');
		return /wrong|password/i.test(await page.textContent('#signin-error')) &&
		    await page.isHidden('#view-app');
	});

	await step('sign in with the keyboard', async () => {
		await page.fill('#signin-password', PASSWORD);
		await page.press('#signin-password', 'Enter');
		await page.locator('#view-app').waitFor({ state: 'visible' });
		await until(async () => (await page.textContent('#who')).includes(USER), 5000, 'the user name');
		const focused = await page.evaluate(() => document.activeElement.id);
		return focused === 'create-origin';
	});

	await step('the event stream connects', async () => {
		await until(async () => (await page.getAttribute('#stream-state', 'data-state')) === 'live', 10000, 'live');
		await shot('02-signed-in');
	});

	await step('create an alias for a site with a label', async () => {
		await page.fill('#create-origin', site);
		await page.fill('#create-label', label);
		await page.click('#create-submit');
		await page.locator('#created').waitFor({ state: 'visible' });
		address = (await page.textContent('#created-addr')).trim();
		token = address.split('@')[0];
		if (!new RegExp(`^[0-9a-z]{50}@${DOMAIN.replace(/\./g, '\\.')}$`).test(address))
			throw new Error('unexpected address ' + address);
		const row = rowOf(token);
		await row.waitFor();
		return (await row.locator('.site').textContent()) === site &&
		    (await row.locator('.label').textContent()) === label &&
		    (await row.getAttribute('data-status')) === 'active';
	});

	await step('the label reaches the server only encrypted', async () => {
		const j = await page.evaluate(async (tok) => {
			const r = await fetch('/v1/aliases/' + tok, { headers: { Authorization: 'Bearer ' +
			    sessionStorage.getItem('bipostal.token') } });
			return r.json();
		}, token);
		const ctx = j.context || '';
		const raw = Buffer.from(ctx.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
		return ctx.length > 0 && !raw.toString('latin1').includes(label.slice(0, 8)) &&
		    raw[0] === 1 && raw.length === 1 + 12 + Buffer.byteLength(label) + 16;
	});

	await step('the copy button puts the address on the clipboard', async () => {
		await page.click('#created-copy');
		const clip = await until(async () => {
			const t = await page.evaluate(() => navigator.clipboard.readText());
			return t === address ? t : '';
		}, 5000, 'the clipboard');
		return clip === address;
	});

	const subject1 = 'ui-first-' + randomBytes(4).toString('hex');
	await step('mail to the alias is accepted by Postfix', async () => {
		const r = swaks(address, subject1);
		if (r.code !== 0)
			throw new Error(r.out.split('\n').slice(-15).join('\n'));
	});

	await step('the message lands in the real mailbox', async () => {
		await until(() => delivered(subject1).length > 0, 30000, 'delivery of ' + subject1);
	});

	await step('the forwarded counter moves without a reload', async () => {
		await until(async () => (await counter(token, 'forwarded')) === 1, 30000, 'forwarded = 1');
		const last = await rowOf(token).locator('.cell-last time').count();
		return last === 1;
	});

	await step('a notification arrives live in the activity list', async () => {
		/* A queue message from the server side (Pushbox's append). */
		const keyFile = process.env.DEMO_SERVER_KEY_FILE;
		if (!keyFile)
			throw new Error('DEMO_SERVER_KEY_FILE is not set');
		const key = fs.readFileSync(keyFile, 'utf8').trim();
		const me = await page.evaluate(async () => (await fetch('/v1/me', { headers: {
		    Authorization: 'Bearer ' + sessionStorage.getItem('bipostal.token') } })).json());
		const text = 'Your parcel is on its way ' + randomBytes(2).toString('hex');
		const r = await fetch(`${ORIGIN}/v1/queue/${me.queue_id}`, { method: 'POST',
		    headers: { Authorization: 'BIPostal-Server-Key ' + key, 'Content-Type': 'application/json' },
		    body: JSON.stringify({ data: { title: text }, ttl: 3600 }) });
		if (r.status !== 201)
			throw new Error('queue append: HTTP ' + r.status + ' ' + await r.text());
		await until(async () => (await page.textContent('#notes')).includes(text), 15000, 'the notification');
		const live = await page.getAttribute('#notes', 'aria-live');
		await shot('03-mail-and-notification');
		return live === 'polite';
	});

	await step('the "manage this alias" link of a forwarded mail focuses its row', async () => {
		const f = delivered(subject1)[0];
		const body = fs.readFileSync(path.join(MAILBOX, f), 'latin1');
		const m = /(https?:\/\/\S+#alias=[0-9a-z]+)/.exec(body);
		if (!m)
			throw new Error('no #alias= link in the forwarded message');
		await page.goto(m[1]);
		await until(async () => page.evaluate((t) => {
			const a = document.activeElement;
			return a && a.closest('tr') && a.closest('tr').id === 'alias-' + t;
		}, token), 10000, 'the focus on the row');
	});

	const subject1b = 'ui-attach-' + randomBytes(4).toString('hex');
	const attachment = Buffer.from('%PDF-1.4\n% a small test document ' + randomBytes(8).toString('hex') + '\n');
	await step('an attachment stripped from a mail downloads from the page', async () => {
		const file = path.join(os.tmpdir(), `bipostal-ui-${process.pid}.pdf`);
		fs.writeFileSync(file, attachment);
		const r = swaks(address, subject1b, ['--attach-type', 'application/pdf',
		    '--attach-name', 'invoice.pdf', '--attach', '@' + file]);
		fs.rmSync(file, { force: true });
		if (r.code !== 0)
			throw new Error(r.out.split('\n').slice(-15).join('\n'));
		const f = await until(() => delivered(subject1b)[0], 30000, 'delivery of ' + subject1b);
		const body = fs.readFileSync(path.join(MAILBOX, f), 'latin1');
		const m = /\/v1\/blobs\/([0-9a-z]+)/.exec(body);
		if (!m)
			throw new Error('no download link in the forwarded message');
		if (body.includes(attachment.toString('base64').slice(0, 20)))
			throw new Error('the attachment was forwarded, not stripped');
		await page.goto(URL0.replace(/#.*$/, '') + '#blob=' + m[1]);
		const link = page.locator(`#notes .blob-link[data-blob="${m[1]}"]`);
		await link.waitFor();
		const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
		const got = fs.readFileSync(await dl.path());
		return got.equals(attachment) && /invoice/.test(dl.suggestedFilename());
	});

	await step('the attachment link of the delivered mail downloads the file in a browser with no session', async () => {
		const f = delivered(subject1b)[0];
		if (!f)
			throw new Error('no delivered message (an earlier step failed)');
		const m = mailLink(f, /(https?:\/\/[^\s"<>]+\/v1\/blobs\/[0-9a-z]+\?exp=[0-9]+&sig=[0-9a-f]{32})/);
		if (!m)
			throw new Error('no signed attachment link in the forwarded message');
		const link = m[1];
		return sessionless(async (p) => {
			/* clicked, as in a mail client's window */
			await p.setContent('<a id="l" href="' + link.replace(/&/g, '&amp;') + '">invoice.pdf</a>');
			const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#l')]);
			const got = fs.readFileSync(await dl.path());
			/* opened: pasted in the address bar */
			const [dl2] = await Promise.all([p.waitForEvent('download'),
			    p.goto(link).catch(() => null)]);
			const got2 = fs.readFileSync(await dl2.path());
			/* a changed signature opens nothing */
			const bad = link.replace(/sig=(.)/, (_, c) => 'sig=' + (c === '0' ? '1' : '0'));
			const r = await p.request.get(bad);
			const why = `click ${got.equals(attachment)} ${dl.suggestedFilename()}, ` +
			    `open ${got2.equals(attachment)}, changed sig ${r.status()}`;
			if (!(got.equals(attachment) && dl.suggestedFilename() === 'invoice.pdf' &&
			    got2.equals(attachment) && r.status() === 403))
				throw new Error(why);
		});
	});

	await step('the manage link of the delivered mail, with no session, signs in and shows the alias', async () => {
		const f = delivered(subject1)[0];
		const m = f && mailLink(f, /(https?:\/\/\S+#alias=[0-9a-z]+)/);
		if (!m)
			throw new Error('no #alias= link in the forwarded message');
		return sessionless(async (p) => {
			await p.goto(m[1]);
			await p.locator('#view-signin').waitFor({ state: 'visible' });
			await p.fill('#signin-email', USER);
			await p.fill('#signin-password', PASSWORD);
			await p.press('#signin-password', 'Enter');
			await p.locator('#view-app').waitFor({ state: 'visible' });
			await until(async () => p.evaluate((t) => {
				const a = document.activeElement;
				return a && a.closest('tr') && a.closest('tr').id === 'alias-' + t;
			}, token), 10000, 'the focus on the row');
		});
	});

	await step('a JSON part of a mail arrives as a live notification', async () => {
		const text = 'Ticket update ' + randomBytes(3).toString('hex');
		const r = swaks(address, 'ui-json-' + randomBytes(3).toString('hex'), ['--attach-type',
		    'application/json', '--attach-name', 'note.json', '--attach', JSON.stringify({ title: text })]);
		if (r.code !== 0)
			throw new Error(r.out.split('\n').slice(-15).join('\n'));
		await until(async () => (await page.textContent('#notes')).includes(text), 30000, 'the notification');
	});

	await step('disable the alias', async () => {
		await rowOf(token).locator('[data-act=disable]').click();
		await until(async () => (await rowOf(token).getAttribute('data-status')) === 'inactive', 10000, 'inactive');
		const focused = await page.evaluate(() => document.activeElement.dataset.act);
		return (await rowOf(token).locator('.badge').textContent()) === 'Disabled' && focused === 'enable';
	});

	const subject2 = 'ui-disabled-' + randomBytes(4).toString('hex');
	await step('mail to the disabled alias is not delivered', async () => {
		/* three mails were forwarded so far; their counters are written
		 * in the background, so wait for all three before comparing */
		const before = 3;
		await until(async () => (await counter(token, 'forwarded')) === before, 30000, 'forwarded = 3');
		const r = swaks(address, subject2);
		/* discard (the default) answers 250, reject 550: both fine here */
		if (r.code !== 0 && !/\b550\b/.test(r.out))
			throw new Error(r.out.split('\n').slice(-15).join('\n'));
		await until(async () => (await counter(token, 'blocked')) === 1, 30000, 'blocked = 1');
		await sleep(3000);
		await shot('04-disabled');
		return delivered(subject2).length === 0 && (await counter(token, 'forwarded')) === before;
	});

	await step('enable it again, then disable it with the keyboard', async () => {
		await rowOf(token).locator('[data-act=enable]').click();
		await until(async () => (await rowOf(token).getAttribute('data-status')) === 'active', 10000, 'active');
		await rowOf(token).locator('[data-act=disable]').focus();
		await page.keyboard.press('Enter');
		await until(async () => (await rowOf(token).getAttribute('data-status')) === 'inactive', 10000, 'inactive');
	});

	await step('set and clear an expiry', async () => {
		await rowOf(token).locator('[data-act=expiry]').click();
		await page.locator('#dlg-expiry').waitFor({ state: 'visible' });
		await page.click('#dlg-expiry [data-quick="604800"]');
		await page.click('#dlg-expiry button[value=ok]');
		await until(async () => (await rowOf(token).locator('td[data-label=Expires] time').count()) === 1,
		    10000, 'an expiry');
		const shown = await rowOf(token).locator('td[data-label=Expires] time').textContent();
		await rowOf(token).locator('[data-act=expiry]').click();
		await page.click('#dlg-expiry button[value=clear]');
		await until(async () => (await rowOf(token).locator('td[data-label=Expires] time').count()) === 0,
		    10000, 'no expiry');
		return /7 days|next week/.test(shown);
	});

	await step('Escape closes a dialog and gives the focus back', async () => {
		await rowOf(token).locator('[data-act=label]').click();
		await page.locator('#dlg-label').waitFor({ state: 'visible' });
		const inDialog = await page.evaluate(() => document.activeElement.id);
		await page.keyboard.press('Escape');
		await page.locator('#dlg-label').waitFor({ state: 'hidden' });
		const back = await page.evaluate(() => document.activeElement.dataset.act);
		return inDialog === 'label-input' && back === 'label';
	});

	await step('cancelling the delete confirmation keeps the alias', async () => {
		await rowOf(token).locator('[data-act=delete]').click();
		await page.locator('#dlg-delete').waitFor({ state: 'visible' });
		await shot('05-confirm-delete');
		await page.click('#dlg-delete button[value=cancel]');
		return (await rowOf(token).count()) === 1;
	});

	await step('delete the alias after confirming', async () => {
		await rowOf(token).locator('[data-act=delete]').click();
		await page.locator('#dlg-delete').waitFor({ state: 'visible' });
		await page.click('#delete-ok');
		await until(async () => (await rowOf(token).count()) === 0, 10000, 'the row to go');
	});

	const subject3 = 'ui-deleted-' + randomBytes(4).toString('hex');
	await step('mail to the deleted alias is refused during the SMTP dialogue', async () => {
		const r = swaks(address, subject3);
		await sleep(2000);
		if (!/\b5\d\d\b/.test(r.out) || r.code === 0)
			throw new Error('swaks exit ' + r.code + '\n' + r.out.split('\n').slice(-10).join('\n'));
		return delivered(subject3).length === 0;
	});

	await step('settings: the disabled-alias action is saved', async () => {
		await page.click('#btn-settings');
		await page.locator('#dlg-settings').waitFor({ state: 'visible' });
		await page.check('input[name=disabled_action][value=reject]');
		await until(async () => /refused/.test(await page.textContent('#settings-saved')), 10000, 'saved');
		const me = await page.evaluate(async () => (await fetch('/v1/me', { headers: {
		    Authorization: 'Bearer ' + sessionStorage.getItem('bipostal.token') } })).json());
		await page.check('input[name=disabled_action][value=discard]');
		await until(async () => /dropped/.test(await page.textContent('#settings-saved')), 10000, 'saved');
		return (me.disabled_action || (me.settings || {}).disabled_action) === 'reject';
	});

	await step('settings: TOTP enrolment shows a QR code and is verified', async () => {
		await page.click('#totp-start');
		await page.locator('#totp-enrol').waitFor({ state: 'visible' });
		await until(async () => page.evaluate(() => {
			const i = document.getElementById('totp-qr');
			return i.complete && i.naturalWidth > 50;
		}), 10000, 'the QR image');
		totpSecret = (await page.textContent('#totp-secret')).replace(/\s+/g, '');
		await shot('06-totp');
		await page.fill('#totp-code', totp(totpSecret));
		await page.press('#totp-code', 'Enter');
		await until(async () => /^On/.test(await page.textContent('#totp-state')), 10000, 'TOTP on');
		await page.click('#settings-close');
	});

	await step('sign out, then sign in with the TOTP code', async () => {
		await page.click('#btn-signout');
		await page.locator('#view-signin').waitFor({ state: 'visible' });
		await page.fill('#signin-email', USER);
		await page.fill('#signin-password', PASSWORD);
		await page.press('#signin-password', 'Enter');
		await page.locator('#signin-totp-row').waitFor({ state: 'visible' });
		const focused = await page.evaluate(() => document.activeElement.id);
		/* A fresh time step, so the code is not the one just used. */
		const step0 = Math.floor(Date.now() / 30000);
		await until(() => Math.floor(Date.now() / 30000) !== step0, 31000, 'the next TOTP step');
		await page.fill('#signin-totp', totp(totpSecret));
		await page.press('#signin-totp', 'Enter');
		await page.locator('#view-app').waitFor({ state: 'visible' });
		return focused === 'signin-totp';
	});

	await step('the label survives the new session (same browser key)', async () => {
		await page.fill('#create-origin', site + '.two');
		await page.fill('#create-label', 'second ' + label);
		await page.click('#create-submit');
		await page.locator('#created').waitFor({ state: 'visible' });
		const tok = (await page.textContent('#created-addr')).split('@')[0];
		await page.reload();
		await page.locator('#view-app').waitFor({ state: 'visible' });
		await rowOf(tok).waitFor();
		return (await rowOf(tok).locator('.label').textContent()) === 'second ' + label;
	});

	await step('a phone-sized screen shows every alias without sideways scrolling', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await sleep(300);
		await shot('07-phone');
		const over = await page.evaluate(() => {
			const wrap = document.querySelector('.table-wrap');
			return Math.max(document.documentElement.scrollWidth - window.innerWidth,
			    wrap.scrollWidth - wrap.clientWidth);
		});
		await page.setViewportSize({ width: 1280, height: 900 });
		if (over > 0)
			throw new Error(`${over} px wider than the screen`);
	});

	await step('the skip link is the first stop of the keyboard and shows when focused', async () => {
		const first = await page.evaluate(() => {
			const e = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
			    .find((x) => x.tabIndex >= 0 && !x.closest('[hidden], dialog:not([open])'));
			return e && e.className;
		});
		await page.focus('.skip-link');
		const top = await page.evaluate(() => document.querySelector('.skip-link').getBoundingClientRect().top);
		await page.keyboard.press('Enter');
		const target = await page.evaluate(() => document.activeElement.id);
		return first === 'skip-link' && top >= 0 && target === 'main';
	});

	await step('no request left the dash and no script error happened', async () => {
		if (foreign.length || consoleErrors.length)
			throw new Error('foreign: ' + foreign.join(' ') + '\nerrors: ' + consoleErrors.join('\n'));
	});
} catch (e) {
	ok(false, 'the scenario ran to its end', e.stack);
} finally {
	await shot('99-end');
	await browser.close().catch(() => {});
	fs.rmSync(userData, { recursive: true, force: true });
}

console.log(`1..${n}`);
console.log(`# screenshots in ${ARTIFACTS}`);
process.exit(failed ? 1 : 0);
