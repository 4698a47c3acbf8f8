"""taplib - TAP lines for the Python helpers of tests/security

    tap = Tap()
    tap(cond, 'what', detail)   # "ok N - what"; a failure shows detail
    sys.exit(tap.done())        # prints the plan; 1 if anything failed
"""
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def __call__(self, good, text, detail=None):
        self.n += 1
        print('%s %d - %s' % ('ok' if good else 'not ok', self.n, text))
        if not good:
            self.failed += 1
            if detail is not None:
                print('#   got: %r' % (detail,))
        sys.stdout.flush()
        return good

    def done(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0
