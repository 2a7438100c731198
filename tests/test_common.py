"""scikit-learn's estimator checks on several configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from leace_sklearn import LeaceTransformer

CONFIGS = [
    LeaceTransformer(),
    LeaceTransformer(method="orth"),
    LeaceTransformer(affine=False, alpha=0.5),
    LeaceTransformer(shrinkage="auto"),
    LeaceTransformer(shrinkage=0.2, tol=1e-6, copy=False),
]

# No check is expected to fail; this dict is where a justified exception
# would go, with its reason.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    CONFIGS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
