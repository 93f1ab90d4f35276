import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError, UnsupportedEventPatternError, compilePattern, matchesPattern, validatePattern } from './eventbridge-pattern.js';

/** The sample event of the EventBridge guide and the event-ruler README. */
const ec2Event = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

function withDetail(detail: Record<string, unknown>) {
  return { ...ec2Event, detail };
}

describe('matchesPattern', () => {
  it('matches exact strings, numbers and booleans, ANDing keys and nesting like the event', () => {
    const pattern = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running'] } };
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
    expect(matchesPattern({ ...pattern, detail: { state: ['terminated'] } }, ec2Event)).toBe(false);
    // Case-sensitive, no normalisation.
    expect(matchesPattern({ source: ['AWS.EC2'] }, ec2Event)).toBe(false);
    // Same key names at the wrong nesting level do not match.
    expect(matchesPattern({ state: ['running'] }, ec2Event)).toBe(false);

    // The Macie example: numbers in the pattern match numbers in the event, at any depth.
    const macie = { source: 'aws.macie', detail: { 'risk-score': 80, trigger: { risk: 8, enabled: true } } };
    expect(matchesPattern({ detail: { 'risk-score': [80], trigger: { risk: [8] } } }, macie)).toBe(true);
    expect(matchesPattern({ detail: { 'risk-score': [8.0e1] } }, macie)).toBe(true);
    expect(matchesPattern({ detail: { 'risk-score': ['80'] } }, macie)).toBe(false);
    expect(matchesPattern({ detail: { trigger: { enabled: [true] } } }, macie)).toBe(true);
    expect(matchesPattern({ detail: { trigger: { enabled: ['true'] } } }, macie)).toBe(false);
  });

  it('treats the values listed for one key as alternatives', () => {
    expect(matchesPattern({ source: ['aws.ec2', 'aws.fargate'] }, ec2Event)).toBe(true);
    expect(matchesPattern({ source: ['aws.fargate', 'aws.s3'] }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { state: ['initializing', 'running'] } }, ec2Event)).toBe(true);
  });

  it('matches null and the empty string exactly, never each other or a missing field', () => {
    const event = { detail: { eventVersion: '', responseElements: null } };
    expect(matchesPattern({ detail: { eventVersion: [''] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { responseElements: [null] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventVersion: [null] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { responseElements: [''] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { absent: [null] } }, event)).toBe(false);
    expect(matchesPattern({ resources: [null] }, { resources: [] })).toBe(false);
  });

  it('matches an array-valued event field when any element matches', () => {
    const pattern = {
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'],
    };
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(matchesPattern(pattern, { resources: [event.resources[0]] })).toBe(false);
    expect(matchesPattern({ tags: ['b'] }, { tags: [['a'], ['b']] })).toBe(true);
  });

  it('matches arrays of objects element by element', () => {
    const event = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };
    expect(matchesPattern({ employees: { firstName: ['Anna'] } }, event)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event)).toBe(true);
    // Anna and Jones are in different elements: Ruler's array-consistent matching refuses to combine them.
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event)).toBe(false);
  });

  it('prefix matches the start of string values only', () => {
    expect(matchesPattern({ time: [{ prefix: '2017-10-02' }] }, ec2Event)).toBe(true);
    expect(matchesPattern({ time: [{ prefix: '2017-10-03' }] }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { 'c-count': [{ prefix: '5' }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, withDetail({ service: 'eventbridge' }))).toBe(true);
    expect(matchesPattern({ detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, withDetail({ service: 'lambda' }))).toBe(false);
    expect(matchesPattern({ detail: { service: [{ prefix: 'EventB' }] } }, withDetail({ service: 'eventbridge' }))).toBe(false);
  });

  it('suffix matches the end of string values only', () => {
    expect(matchesPattern({ source: [{ suffix: 'ec2' }] }, ec2Event)).toBe(true);
    expect(matchesPattern({ source: [{ suffix: 'ec' }] }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, withDetail({ FileName: 'IMAGE.PNG' }))).toBe(true);
    expect(matchesPattern({ detail: { FileName: [{ suffix: '.png' }] } }, withDetail({ FileName: 'IMAGE.PNG' }))).toBe(false);
    expect(matchesPattern({ detail: { 'c-count': [{ suffix: '5' }] } }, ec2Event)).toBe(false);
  });

  it('equals-ignore-case compares strings regardless of case', () => {
    expect(matchesPattern({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] }, ec2Event)).toBe(true);
    expect(matchesPattern({ source: [{ 'equals-ignore-case': 'aws.ec' }] }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { value: [{ 'equals-ignore-case': '' }] } }, withDetail({ value: '' }))).toBe(true);
    expect(matchesPattern({ detail: { value: [{ 'equals-ignore-case': '5' }] } }, withDetail({ value: 5 }))).toBe(false);
  });

  it('anything-but excludes a value, a list, a prefix, a suffix or a case-insensitive value', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'running' }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { 'x-limit': [{ 'anything-but': 301.8 }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { 'd-count': [{ 'anything-but': [100, 200, 300] }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { 'd-count': [{ 'anything-but': [1, 2, 3] }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { prefix: ['init', 'run'] } }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }, withDetail({ FileName: 'a.txt' }))).toBe(true);
    expect(matchesPattern({ detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }, withDetail({ FileName: 'a.png' }))).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'RUNNING' } }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['STOPPED'] } }] } }, ec2Event)).toBe(true);
  });

  it('anything-but never matches a missing field but does match null and values of another type', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({}))).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({ state: null }))).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, withDetail({ state: 12 }))).toBe(true);
    // An array matches when some element lies outside the exclusion.
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'stopped' }] } }, withDetail({ state: ['stopped', 'running'] }))).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'stopped' }] } }, withDetail({ state: ['stopped'] }))).toBe(false);
  });

  it('exists checks the presence of a leaf value', () => {
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { 'c-count': [{ exists: false }] } }, ec2Event)).toBe(false);
    expect(matchesPattern({ detail: { 'e-count': [{ exists: false }] } }, ec2Event)).toBe(true);
    expect(matchesPattern({ detail: { 'e-count': [{ exists: true }] } }, ec2Event)).toBe(false);
    // The guide's example: c-count holds an object, which is not a leaf, so it does not "exist".
    const nested = withDetail({ state: ['initializing', 'running'], 'c-count': { c1: 100 } });
    expect(matchesPattern({ detail: { 'c-count': [{ exists: false }] } }, nested)).toBe(true);
    expect(matchesPattern({ detail: { 'c-count': [{ exists: true }] } }, nested)).toBe(false);
    // A null is a value; an empty array holds none.
    expect(matchesPattern({ detail: { v: [{ exists: true }] } }, withDetail({ v: null }))).toBe(true);
    expect(matchesPattern({ detail: { v: [{ exists: false }] } }, withDetail({ v: [] }))).toBe(true);
  });

  it('numeric compares JSON numbers against ranges', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
    expect(matchesPattern(pattern, withDetail({ ...ec2Event.detail, 'c-count': 6 }))).toBe(false);
    expect(matchesPattern(pattern, withDetail({ ...ec2Event.detail, 'c-count': 0 }))).toBe(false);
    expect(matchesPattern(pattern, withDetail({ ...ec2Event.detail, 'd-count': 10 }))).toBe(false);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>=', 10, '<', 20] }] } }, withDetail({ n: 10 }))).toBe(true);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>=', 10, '<', 20] }] } }, withDetail({ n: 20 }))).toBe(false);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>=', -5] }] } }, withDetail({ n: -5 }))).toBe(true);
    // Only JSON numbers, and only within Ruler's ±5e9.
    expect(matchesPattern({ detail: { n: [{ numeric: ['>', 0] }] } }, withDetail({ n: '5' }))).toBe(false);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>', 0] }] } }, withDetail({ n: 6e9 }))).toBe(false);
  });

  it('$or matches when any alternative matches, alongside the other keys', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/S3' })).toBe(false);
    expect(matchesPattern(pattern, { source: 'aws.s3', metricName: 'ReadLatency' })).toBe(false);

    const nested = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    };
    const event = { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000, detail: { 'detail-type': 'CloudWatch Alarm State Change' } };
    expect(matchesPattern(nested, event)).toBe(true);
    expect(matchesPattern(nested, { ...event, spaceId: 1 })).toBe(false);
    expect(matchesPattern(nested, { ...event, detail: {} })).toBe(false);
  });

  it('combines operators as in the guide’s complex example', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    expect(matchesPattern(pattern, ec2Event)).toBe(true);
    expect(matchesPattern(pattern, { ...ec2Event, time: '2017-10-03T00:00:00Z' })).toBe(false);
    expect(matchesPattern(pattern, withDetail({ ...ec2Event.detail, 'x-limit': 200 }))).toBe(false);
  });

  it('compiles once and keeps matching after the pattern object changes', () => {
    const pattern = { source: ['aws.ec2'] };
    const matches = compilePattern(pattern);
    pattern.source[0] = 'aws.s3';
    expect(matches(ec2Event)).toBe(true);
  });
});

describe('validatePattern', () => {
  it.each([
    ['a non-object pattern', ['aws.ec2'], 'Filter is not an object'],
    ['an empty pattern', {}, 'Empty objects are not allowed'],
    ['a bare value', { source: 'aws.ec2' }, '"source" must be an object or an array'],
    ['an empty value list', { source: [] }, 'Empty arrays are not allowed'],
    ['a nested array value', { source: [['aws.ec2']] }, 'Match value must be String, number, true, false, or null'],
    ['an unknown operator', { source: [{ contains: 'ec2' }] }, 'Unrecognized match type contains'],
    ['two operators in one expression', { source: [{ prefix: 'a', suffix: 'b' }] }, 'Only one key allowed in match expression'],
    ['a non-string prefix', { source: [{ prefix: 5 }] }, 'prefix match pattern must be a string'],
    ['a non-boolean exists', { source: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false.'],
    ['a mixed anything-but list', { n: [{ 'anything-but': ['a', 1] }] }, 'mixed type is not supported'],
    ['an anything-but null', { n: [{ 'anything-but': null }] }, 'Value of anything-but must be an array or single string/number value.'],
    ['an empty anything-but prefix', { n: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed'],
    ['an unknown numeric operator', { n: [{ numeric: ['!=', 1] }] }, 'Unrecognized numeric range operator: !='],
    ['an upper bound first', { n: [{ numeric: ['<', 5, '>', 1] }] }, 'Too many elements in numeric expression'],
    ['an inverted range', { n: [{ numeric: ['>', 5, '<', 1] }] }, 'Bottom must be less than top'],
    ['a numeric operand out of range', { n: [{ numeric: ['>', 6e9] }] }, 'Value must be between -5000000000 and 5000000000, inclusive'],
    ['seven decimals', { n: [{ numeric: ['>', 0.0000001] }] }, 'Only values upto 6 decimals are supported'],
    ['a lone $or alternative', { $or: [{ a: ['x'] }] }, 'There must have at least 2 Objects in $or relationship.'],
    ['a $or that is not an array', { $or: { a: ['x'] } }, 'It must be an Array followed with $or.'],
    ['an operator name as a field inside $or', { $or: [{ prefix: ['x'] }, { b: ['y'] }] }, 'prefix is Ruler reserved fieldName'],
  ])('rejects %s as AWS does', (_case, pattern, reason) => {
    expect(() => validatePattern(pattern)).toThrow(InvalidEventPatternError);
    expect(() => validatePattern(pattern)).toThrow(reason);
  });

  it.each([
    ['wildcard', { source: [{ wildcard: 'aws.*' }] }],
    ['anything-but wildcard', { source: [{ 'anything-but': { wildcard: 'aws.*' } }] }],
    ['cidr', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }],
  ])('refuses the valid but unsupported %s operator instead of mis-matching', (operator, pattern) => {
    expect(() => validatePattern(pattern)).toThrow(UnsupportedEventPatternError);
    expect(() => validatePattern(pattern)).toThrow(`does not evaluate the "${operator}" operator`);
  });

  it('names where in the pattern the problem is', () => {
    expect(() => validatePattern({ detail: { state: [{ prefix: 1 }] } })).toThrow('(at detail.state)');
  });
});
