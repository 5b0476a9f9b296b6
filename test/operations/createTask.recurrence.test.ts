// createTask with a recurrence: the rule normalised, the zone canonical, and every refusal (each
// naming the part of the rule at fault).
import { expect } from 'chai';
import { newUser, sharedApi } from '../support/api.ts';
import { bearer, expectContractViolation, expectCreated, expectProblem, listAllTasksAs, type ExpectedFieldError } from '../support/tasks.ts';

const due = '2030-01-07T08:00:00.000Z';

describe('createTask', () => {
  describe('with a recurrence', () => {
    it('creates a recurring task and returns the rule normalised: upper case, parts in a fixed order, lists sorted without repeats', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http
        .post('/api/tasks')
        .set(bearer(user))
        .send({
          title: 'Gym',
          due_at: due,
          recurrence: { rule: 'count=10;byday=we,MO,mo;Freq=Weekly;wkst=su;interval=2', time_zone: 'europe/paris', basis: 'completion' },
        });

      expectCreated(response, '/api/tasks', {
        user_id: user.id,
        title: 'Gym',
        description: null,
        status: 'pending',
        due_at: due,
        recurrence: { rule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=SU;COUNT=10', time_zone: 'Europe/Paris', basis: 'completion' },
      });
    });

    it('defaults the time zone to UTC and the basis to due', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Daily', due_at: due, recurrence: { rule: 'FREQ=DAILY' } });

      expectCreated(response, '/api/tasks', {
        user_id: user.id,
        title: 'Daily',
        description: null,
        status: 'pending',
        due_at: due,
        recurrence: { rule: 'FREQ=DAILY', time_zone: 'UTC', basis: 'due' },
      });
    });

    it('normalises every part: signed ordinals, negative month days, BYSETPOS, a date UNTIL', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http
        .post('/api/tasks')
        .set(bearer(user))
        .send({ title: 'Month end', due_at: due, recurrence: { rule: 'FREQ=MONTHLY;BYSETPOS=-1,1;BYDAY=+1FR,-1FR;BYMONTH=12,1;BYMONTHDAY=-1,31;UNTIL=20311231' } });

      expect(response.status, response.text).to.equal(201);
      expect(response.body.recurrence).to.deep.equal({
        rule: 'FREQ=MONTHLY;BYMONTH=1,12;BYMONTHDAY=-1,31;BYDAY=-1FR,1FR;BYSETPOS=-1,1;UNTIL=20311231',
        time_zone: 'UTC',
        basis: 'due',
      });
    });

    it('accepts the rules whose next occurrence is hard to find, each answered promptly: month end, BYSETPOS=-1, leap day, INTERVAL=1000', async () => {
      const api = await sharedApi();
      const user = await newUser();
      for (const rule of ['FREQ=MONTHLY;BYMONTHDAY=31', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', 'FREQ=DAILY;INTERVAL=1000']) {
        const started = Date.now();
        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: rule, due_at: due, recurrence: { rule } });
        expect(response.status, response.text).to.equal(201);
        // Generous: the machine is shared; the bound that matters is that it ends at all.
        expect(Date.now() - started, rule).to.be.below(5000);
      }
    });

    it('creates a non-recurring task with recurrence: null', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'Once', recurrence: null });

      expectCreated(response, '/api/tasks', { user_id: user.id, title: 'Once', description: null, status: 'pending' });
    });

    const unsupported: readonly (readonly [string, string])[] = [
      ['FREQ=HOURLY', '"FREQ=HOURLY": only DAILY, WEEKLY, MONTHLY and YEARLY are.'],
      ['FREQ=MINUTELY', '"FREQ=MINUTELY": only DAILY, WEEKLY, MONTHLY and YEARLY are.'],
      ['FREQ=DAILY;BYHOUR=9', '"BYHOUR": only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are.'],
      ['FREQ=DAILY;BYSECOND=0', '"BYSECOND": only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are.'],
      ['FREQ=DAILY;BYMINUTE=30', '"BYMINUTE": only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are.'],
      ['FREQ=YEARLY;BYWEEKNO=20', '"BYWEEKNO": only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are.'],
      ['FREQ=YEARLY;BYYEARDAY=100', '"BYYEARDAY": only FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST, COUNT and UNTIL are.'],
    ];
    for (const [rule, message] of unsupported) {
      it(`returns 422 naming the part for a rule outside the subset: ${rule}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', due_at: due, recurrence: { rule } });

        expectProblem(response, { type: 'recurrence-rule-unsupported', instance: '/api/tasks', errors: [{ path: '/body/recurrence/rule', keyword: 'not_allowed' }] });
        // The message names the part at fault first ("BYHOUR: …"): what a person needs to fix it.
        expect(response.body.errors[0].message).to.equal(message);
        expect(await listAllTasksAs(api, user)).to.deep.equal([]);
      });
    }

    const invalid: readonly (readonly [string, string])[] = [
      ['RRULE:FREQ=DAILY', '"RRULE:": send the rule value without the "RRULE:" prefix.'],
      ['FREQ=DAILY;COLOUR=RED', '"COLOUR": not an RRULE part.'],
      ['FREQ=DAILY;FREQ=WEEKLY', '"FREQ": appears more than once.'],
      ['FREQ=DAILY;INTERVAL=2;INTERVAL=3', '"INTERVAL": appears more than once.'],
      ['INTERVAL=2', '"FREQ": is required.'],
      ['FREQ=FORTNIGHTLY', '"FREQ": "FORTNIGHTLY" is not a frequency.'],
      ['FREQ=DAILY;', '";": empty part (a doubled or trailing ";").'],
      ['FREQ=DAILY;INTERVAL', '"INTERVAL": has no value.'],
      ['FREQ=DAILY;INTERVAL=0', '"INTERVAL": 0 is out of range (1 to 1000).'],
      ['FREQ=DAILY;INTERVAL=1001', '"INTERVAL": 1001 is out of range (1 to 1000).'],
      ['FREQ=DAILY;INTERVAL=-1', '"INTERVAL": "-1" is not a positive integer.'],
      ['FREQ=WEEKLY;BYDAY=1MO', '"BYDAY": "1MO": an ordinal is allowed only with FREQ=MONTHLY or FREQ=YEARLY (RFC 5545).'],
      ['FREQ=MONTHLY;BYDAY=6MO', '"BYDAY": 6 is out of range (-5 to -1 or 1 to 5).'],
      ['FREQ=MONTHLY;BYDAY=0MO', '"BYDAY": 0 is out of range (-5 to -1 or 1 to 5).'],
      ['FREQ=MONTHLY;BYDAY=MON', '"BYDAY": "MON" is not a weekday (MO…SU), optionally with an ordinal (1MO, -1FR).'],
      ['FREQ=MONTHLY;BYDAY=MO,,TU', '"BYDAY": has an empty list item.'],
      ['FREQ=WEEKLY;BYMONTHDAY=1', '"BYMONTHDAY": is not allowed with FREQ=WEEKLY (RFC 5545).'],
      ['FREQ=MONTHLY;BYMONTHDAY=0', '"BYMONTHDAY": 0 is out of range (-31 to -1 or 1 to 31).'],
      ['FREQ=MONTHLY;BYMONTHDAY=32', '"BYMONTHDAY": 32 is out of range (-31 to -1 or 1 to 31).'],
      ['FREQ=YEARLY;BYMONTH=13', '"BYMONTH": 13 is out of range (1 to 12).'],
      ['FREQ=MONTHLY;BYSETPOS=1', '"BYSETPOS": needs another BYxxx part to choose among (RFC 5545).'],
      ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0', '"BYSETPOS": 0 is out of range (-366 to -1 or 1 to 366).'],
      ['FREQ=DAILY;WKST=XX', '"WKST": "XX" is not a weekday (MO…SU).'],
      ['FREQ=DAILY;COUNT=0', '"COUNT": 0 is out of range (1 to 100).'],
      ['FREQ=DAILY;COUNT=101', '"COUNT": 101 is out of range (1 to 100).'],
      ['FREQ=DAILY;COUNT=5;UNTIL=20301231T000000Z', '"COUNT": COUNT and UNTIL must not both be given (RFC 5545).'],
      ['FREQ=DAILY;UNTIL=2030-12-31', '"UNTIL": "2030-12-31" is not a UTC date-time (20261231T235959Z) or a date (20261231).'],
      ['FREQ=DAILY;UNTIL=20300230', '"UNTIL": "20300230" is not a UTC date-time (20261231T235959Z) or a date (20261231).'],
      ['FREQ=DAILY;UNTIL=20301231T000000', '"UNTIL": "20301231T000000" is not a UTC date-time (20261231T235959Z) or a date (20261231).'],
    ];
    for (const [rule, message] of invalid) {
      it(`returns 422 naming the part for a rule RFC 5545 does not allow: ${rule}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', due_at: due, recurrence: { rule } });

        expectProblem(response, { type: 'recurrence-rule-invalid', instance: '/api/tasks', errors: [{ path: '/body/recurrence/rule', keyword: 'invalid' }] });
        // The message names the part at fault first ("INTERVAL: …"): what a person needs to fix it.
        expect(response.body.errors[0].message).to.equal(message);
        expect(await listAllTasksAs(api, user)).to.deep.equal([]);
      });
    }

    const neverAgain: readonly (readonly [string, string])[] = [
      ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'February 30th never comes'],
      ['FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31', 'those months have no 31st'],
      ['FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'ten years of days are searched, and none fits'],
      ['FREQ=YEARLY;INTERVAL=11', 'the next one is eleven years away'],
      ['FREQ=MONTHLY;INTERVAL=1000', 'the next one is 83 years away'],
      ['FREQ=DAILY;COUNT=1', 'the due date is the only occurrence'],
      ['FREQ=DAILY;UNTIL=20300107T120000Z', 'UNTIL comes before the second occurrence'],
    ];
    for (const [rule, why] of neverAgain) {
      it(`returns 422, promptly, when the rule yields no occurrence after due_at within ten years (${why}): ${rule}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const started = Date.now();
        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', due_at: due, recurrence: { rule } });

        expect(Date.now() - started).to.be.below(5000);
        expectProblem(response, { type: 'recurrence-never-occurs',
          instance: '/api/tasks',
          errors: [{ path: '/body/recurrence/rule', keyword: 'invalid' }],
        });
        expect(await listAllTasksAs(api, user)).to.deep.equal([]);
      });
    }

    it('returns 422 when a recurring task has no due date', async () => {
      const api = await sharedApi();
      const user = await newUser();

      const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', recurrence: { rule: 'FREQ=DAILY' } });

      expectProblem(response, { type: 'recurrence-needs-due-date',
        instance: '/api/tasks',
        errors: [{ path: '/body/due_at', keyword: 'required' }],
      });
      expect(await listAllTasksAs(api, user)).to.deep.equal([]);
    });

    for (const zone of ['Mars/Olympus_Mons', 'Europe/Pariss']) {
      it(`returns 422 for a time zone that is not an IANA zone: ${zone}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', due_at: due, recurrence: { rule: 'FREQ=DAILY', time_zone: zone } });

        expectProblem(response, { type: 'unknown-time-zone',
          instance: '/api/tasks',
          errors: [{ path: '/body/recurrence/time_zone', keyword: 'unknown' }],
        });
      });
    }

    const shapes: readonly (readonly [string, Record<string, unknown>, ExpectedFieldError[]])[] = [
      ['the rule is empty', { rule: '' }, [{ path: '/body/recurrence/rule', keyword: 'blank' }]],
      ['the rule has spaces', { rule: 'FREQ=DAILY; COUNT=2' }, [{ path: '/body/recurrence/rule', keyword: 'invalid_format' }]],
      ['the rule is missing', { time_zone: 'UTC' }, [{ path: '/body/recurrence/rule', keyword: 'required' }]],
      ['the time zone is an offset', { rule: 'FREQ=DAILY', time_zone: '+01:00' }, [{ path: '/body/recurrence/time_zone', keyword: 'invalid_format' }]],
      ['the basis is unknown', { rule: 'FREQ=DAILY', basis: 'start' }, [{ path: '/body/recurrence/basis', keyword: 'not_one_of' }]],
      ['an unknown property is sent', { rule: 'FREQ=DAILY', dtstart: '20300101' }, [{ path: '/body/recurrence/dtstart', keyword: 'not_allowed' }]],
    ];
    for (const [problem, recurrence, errors] of shapes) {
      it(`returns 422 from the contract when ${problem}`, async () => {
        const api = await sharedApi();
        const user = await newUser();

        const response = await api.http.post('/api/tasks').set(bearer(user)).send({ title: 'x', due_at: due, recurrence });

        expectContractViolation(response, '/api/tasks', errors);
      });
    }
  });
});
