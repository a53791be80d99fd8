#include "model/snapshot.h"

namespace ramflow::model {

std::string_view to_string(FigureScope scope) { return scope == FigureScope::cgroup ? "cgroup" : "processes"; }

}  // namespace ramflow::model
