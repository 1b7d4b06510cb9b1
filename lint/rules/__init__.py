"""cfn-lint rules for Custom::ModelPackage resources (this folder installs as the
package cfn_lint_model_package: `append_rules: [cfn_lint_model_package]`).

cfn-lint's module loader instantiates every rule class found in this module's
namespace, so exactly the three rules are imported here. The directory loader
(`append_rules: [path/to/lint/rules]`) skips this file and loads each rule file on
its own.
"""

from .ModelPackageProperties import ModelPackageProperties
from .PendingApprovalDeclared import PendingApprovalDeclared
from .ServiceTimeoutMissing import ServiceTimeoutMissing

__all__ = ["ModelPackageProperties", "PendingApprovalDeclared", "ServiceTimeoutMissing"]
