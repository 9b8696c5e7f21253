import t from 'tap';
import { milliValue, parseQuantity } from '../../src/k8s/quantity.js';
import { ApiError } from '../../src/k8s/errors.js';

t.test('quantities in every notation Kubernetes accepts', async (t) => {
  t.equal(parseQuantity('100m'), 0.1);
  t.equal(parseQuantity('1.5'), 1.5);
  t.equal(parseQuantity('2Ki'), 2048);
  t.equal(parseQuantity('1Gi'), 2 ** 30);
  t.equal(parseQuantity('1G'), 1e9);
  t.equal(parseQuantity('12e3'), 12000);
  t.equal(parseQuantity('5E-1'), 0.5);
  t.equal(parseQuantity(3), 3);
  t.equal(milliValue('250m'), 250);
  t.equal(milliValue('0.1'), 100);
  t.equal(milliValue('1'), 1000);
  t.equal(milliValue('1n'), 1, 'rounded up, never to zero');
  const bad = (() => {
    try {
      parseQuantity('12 apples');
    } catch (err) {
      return err;
    }
  })();
  t.ok(bad instanceof ApiError && bad.code === 400);
  t.match((bad as Error).message, /quantities must match the regular expression .*"12 apples"/);
});
