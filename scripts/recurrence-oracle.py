#!/usr/bin/python3
"""Prints test/support/recurrence-oracle.ts: expected due dates computed by an independent RFC 5545
implementation, Debian's python3-dateutil with Python's zoneinfo (apt-get install python3-dateutil;
run with /usr/bin/python3 scripts/recurrence-oracle.py > test/support/recurrence-oracle.ts).

dateutil expands a rule over naive (wall-clock) times; each is then read in the zone the way RFC 5545
§3.3.5 reads a DATE-TIME with a TZID (fold=0: the first of two, or the offset before a gap). UNTIL is
applied to those instants. The expectation for the API's preview is the first due date (DTSTART)
followed by the rule's occurrences after it.
"""
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from dateutil.rrule import rrulestr

NY, PARIS = 'America/New_York', 'Europe/Paris'
CASES = [
    # RFC 5545 §3.8.5.3, the examples that fit the subset (DTSTART 09:00 America/New_York).
    ('RFC 5545: daily for 10 occurrences', NY, '1997-09-02T09:00', 'FREQ=DAILY;COUNT=10', 50),
    ('RFC 5545: daily until December 24, 1997', NY, '1997-09-02T09:00', 'FREQ=DAILY;UNTIL=19971224T000000Z', 50),
    ('RFC 5545: every other day', NY, '1997-09-02T09:00', 'FREQ=DAILY;INTERVAL=2', 12),
    ('RFC 5545: every 10 days, 5 occurrences', NY, '1997-09-02T09:00', 'FREQ=DAILY;INTERVAL=10;COUNT=5', 10),
    ('RFC 5545: every day in January, for 3 years (yearly)', NY, '1998-01-01T09:00', 'FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA', 50),
    ('RFC 5545: every day in January, for 3 years (daily)', NY, '1998-01-01T09:00', 'FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1', 50),
    ('RFC 5545: weekly for 10 occurrences', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;COUNT=10', 20),
    ('RFC 5545: weekly until December 24, 1997', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;UNTIL=19971224T000000Z', 50),
    ('RFC 5545: every other week', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;INTERVAL=2;WKST=SU', 12),
    ('RFC 5545: weekly on Tuesday and Thursday for five weeks (UNTIL)', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH', 50),
    ('RFC 5545: weekly on Tuesday and Thursday for five weeks (COUNT)', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH', 20),
    ('RFC 5545: every other week on Monday, Wednesday and Friday until December 24, 1997', NY, '1997-09-01T09:00', 'FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR', 50),
    ('RFC 5545: every other week on Tuesday and Thursday, for 8 occurrences', NY, '1997-09-02T09:00', 'FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH', 20),
    ('RFC 5545: monthly on the first Friday for 10 occurrences', NY, '1997-09-05T09:00', 'FREQ=MONTHLY;COUNT=10;BYDAY=1FR', 20),
    ('RFC 5545: monthly on the first Friday until December 24, 1997', NY, '1997-09-05T09:00', 'FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR', 20),
    ('RFC 5545: every other month on the first and last Sunday, 10 occurrences', NY, '1997-09-07T09:00', 'FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU', 20),
    ('RFC 5545: monthly on the second-to-last Monday for 6 months', NY, '1997-09-22T09:00', 'FREQ=MONTHLY;COUNT=6;BYDAY=-2MO', 20),
    ('RFC 5545: monthly on the third-to-the-last day of the month', NY, '1997-09-28T09:00', 'FREQ=MONTHLY;BYMONTHDAY=-3', 8),
    ('RFC 5545: monthly on the 2nd and 15th for 10 occurrences', NY, '1997-09-02T09:00', 'FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15', 20),
    ('RFC 5545: monthly on the first and last day for 10 occurrences', NY, '1997-09-30T09:00', 'FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1', 20),
    ('RFC 5545: every 18 months on the 10th thru 15th, 10 occurrences', NY, '1997-09-10T09:00', 'FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15', 20),
    ('RFC 5545: every Tuesday, every other month', NY, '1997-09-02T09:00', 'FREQ=MONTHLY;INTERVAL=2;BYDAY=TU', 18),
    ('RFC 5545: yearly in June and July for 10 occurrences', NY, '1997-06-10T09:00', 'FREQ=YEARLY;COUNT=10;BYMONTH=6,7', 20),
    ('RFC 5545: every other year on January, February and March, 10 occurrences', NY, '1997-03-10T09:00', 'FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3', 20),
    ('RFC 5545: every 20th Monday of the year', NY, '1997-05-19T09:00', 'FREQ=YEARLY;BYDAY=20MO', 3),
    ('RFC 5545: every Thursday in March', NY, '1997-03-13T09:00', 'FREQ=YEARLY;BYMONTH=3;BYDAY=TH', 11),
    ('RFC 5545: every Thursday, but only during June, July and August', NY, '1997-06-05T09:00', 'FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8', 39),
    ('RFC 5545: every Friday the 13th', NY, '1997-09-02T09:00', 'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13', 5),
    ('RFC 5545: the first Saturday that follows the first Sunday of the month', NY, '1997-09-13T09:00', 'FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13', 10),
    ('RFC 5545: US Presidential Election day', NY, '1996-11-05T09:00', 'FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8', 3),
    ('RFC 5545: the third instance of Tuesday, Wednesday or Thursday, for the next 3 months', NY, '1997-09-04T09:00', 'FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3', 10),
    ('RFC 5545: the second-to-last weekday of the month', NY, '1997-09-29T09:00', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2', 7),
    ('RFC 5545: an invalid date (February 30) is ignored', NY, '2007-01-15T09:00', 'FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5', 10),
    ('RFC 5545: WKST=MO changes the weeks an interval counts', NY, '1997-08-05T09:00', 'FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO', 10),
    ('RFC 5545: WKST=SU changes the weeks an interval counts', NY, '1997-08-05T09:00', 'FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU', 10),
    # Month ends, leap days, BYSETPOS.
    ('monthly on the 31st skips the months without one', PARIS, '2026-01-31T09:00', 'FREQ=MONTHLY;BYMONTHDAY=31', 8),
    ('monthly on the last day of the month', PARIS, '2026-01-31T09:00', 'FREQ=MONTHLY;BYMONTHDAY=-1', 8),
    ('the last weekday of the month (BYSETPOS=-1)', PARIS, '2026-01-30T09:00', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 8),
    ('every leap day', PARIS, '2024-02-29T09:00', 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', 3),
    ('yearly from a leap day (only leap years have one)', PARIS, '2024-02-29T09:00', 'FREQ=YEARLY', 3),
    ('every 1000 days', PARIS, '2026-01-01T09:00', 'FREQ=DAILY;INTERVAL=1000', 3),
    # Daylight-saving changes, both directions, two zones.
    ('Paris, 09:00 daily across the spring-forward change', PARIS, '2030-03-29T09:00', 'FREQ=DAILY', 5),
    ('Paris, 09:00 daily across the fall-back change', PARIS, '2030-10-25T09:00', 'FREQ=DAILY', 5),
    ('Paris, 02:30 daily across the spring-forward change (02:30 does not exist that day)', PARIS, '2030-03-29T02:30', 'FREQ=DAILY', 5),
    ('Paris, 02:30 daily across the fall-back change (02:30 happens twice that day)', PARIS, '2030-10-25T02:30', 'FREQ=DAILY', 5),
    ('Paris, Sundays at 02:30 across the spring-forward Sunday', PARIS, '2030-03-17T02:30', 'FREQ=WEEKLY;BYDAY=SU', 5),
    ('New York, 09:00 daily across the spring-forward change', NY, '2030-03-08T09:00', 'FREQ=DAILY', 5),
    ('New York, 09:00 daily across the fall-back change', NY, '2030-11-01T09:00', 'FREQ=DAILY', 5),
    ('New York, 02:30 daily across the spring-forward change (02:30 does not exist that day)', NY, '2030-03-08T02:30', 'FREQ=DAILY', 5),
    ('New York, 01:30 daily across the fall-back change (01:30 happens twice that day)', NY, '2030-11-01T01:30', 'FREQ=DAILY', 5),
    ('New York, the second Sunday of each month at 02:30 (March: the change itself)', NY, '2030-01-13T02:30', 'FREQ=MONTHLY;BYDAY=2SU', 4),
]

def instant(naive, zone):
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)

def iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.000Z')

print('// Generated by scripts/recurrence-oracle.py (python3-dateutil + zoneinfo, an independent RFC 5545')
print('// implementation); do not edit. Each case: the first due date, then the due dates the API must')
print('// preview after it (GET /api/tasks/{id}/occurrences with limit = the length).')
print('export type OracleCase = { readonly name: string; readonly timeZone: string; readonly rule: string; readonly dueDates: readonly string[] };')
print('')
print('export const oracleCases: readonly OracleCase[] = [')
for name, zone, start, rule, limit in CASES:
    until = None
    kept = []
    for part in rule.split(';'):
        if part.startswith('UNTIL='):
            until = datetime.strptime(part[6:], '%Y%m%dT%H%M%SZ').replace(tzinfo=timezone.utc)
        else:
            kept.append(part)
    dtstart = datetime.fromisoformat(start)
    dates = [iso(instant(dtstart, zone))]
    for occurrence in rrulestr(';'.join(kept), dtstart=dtstart):
        if occurrence <= dtstart:
            continue
        moment = instant(occurrence, zone)
        if until and moment > until:
            break
        dates.append(iso(moment))
        if len(dates) >= limit:
            break
    print(f'  {{ name: {json.dumps(name)}, timeZone: {json.dumps(zone)}, rule: {json.dumps(rule)}, dueDates: {json.dumps(dates)} }},')
print('];')
