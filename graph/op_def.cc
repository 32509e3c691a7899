#include "graph/op_def.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"

namespace sluice {

std::vector<DType> DTypeGroup(absl::string_view group) {
  if (group == "floating") return {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};
  if (group == "integer") return {DType::kI8, DType::kU8, DType::kI32, DType::kI64};
  if (group == "index") return {DType::kI32, DType::kI64};
  if (group == "numeric") {
    return {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
            DType::kI8,  DType::kU8,  DType::kI32, DType::kI64};
  }
  if (group == "any") return std::vector<DType>(std::begin(kAllDTypes), std::end(kAllDTypes));
  return {};
}

const AttrDef* OpDef::FindAttr(absl::string_view name) const {
  for (const AttrDef& a : attrs_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

namespace {

// Splits "name: rest" into its two trimmed halves.
absl::Status SplitNameAndType(absl::string_view spec, std::string* name, absl::string_view* rest) {
  const size_t colon = spec.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("spec '", spec, "' has no ':'"));
  }
  *name = std::string(absl::StripAsciiWhitespace(spec.substr(0, colon)));
  *rest = absl::StripAsciiWhitespace(spec.substr(colon + 1));
  if (name->empty()) return absl::InvalidArgumentError(absl::StrCat("spec '", spec, "' has no name"));
  return absl::OkStatus();
}

// Splits a comma-separated list at the top level (not inside [] or quotes).
std::vector<absl::string_view> SplitTopLevel(absl::string_view s) {
  std::vector<absl::string_view> parts;
  int depth = 0;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '[' || c == '(') ++depth;
    if (c == ']' || c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(absl::StripAsciiWhitespace(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  absl::string_view last = absl::StripAsciiWhitespace(s.substr(start));
  if (!last.empty() || !parts.empty()) parts.push_back(last);
  return parts;
}

absl::StatusOr<AttrType> ParseAttrTypeName(absl::string_view s) {
  static constexpr AttrType kAll[] = {
      AttrType::kInt,       AttrType::kFloat,     AttrType::kBool,       AttrType::kString,
      AttrType::kType,      AttrType::kShape,     AttrType::kTensor,     AttrType::kIntList,
      AttrType::kFloatList, AttrType::kBoolList,  AttrType::kStringList, AttrType::kTypeList,
      AttrType::kShapeList};
  for (AttrType t : kAll) {
    if (AttrTypeName(t) == s) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown attr type '", s, "'"));
}

absl::StatusOr<std::string> ParseQuoted(absl::string_view s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    return std::string(s.substr(1, s.size() - 2));
  }
  return absl::InvalidArgumentError(absl::StrCat("expected a quoted string, got '", s, "'"));
}

absl::StatusOr<Shape> ParseShapeLiteral(absl::string_view s) {
  if (s == "<unknown>" || s == "unknown") return Shape::UnknownRank();
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') {
    return absl::InvalidArgumentError(absl::StrCat("expected a shape like [?,3], got '", s, "'"));
  }
  Shape shape;
  for (absl::string_view d : SplitTopLevel(s.substr(1, s.size() - 2))) {
    if (d == "?" || d == "-1") {
      shape.AddDim(kUnknownDim);
      continue;
    }
    int64_t v;
    if (!absl::SimpleAtoi(d, &v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad dim '", d, "' in shape '", s, "'"));
    }
    shape.AddDim(v);
  }
  return shape;
}

// Parses one scalar literal of the given (non-list) kind.
absl::StatusOr<AttrValue> ParseScalarLiteral(AttrType type, absl::string_view s) {
  switch (type) {
    case AttrType::kInt: {
      int64_t v;
      if (absl::SimpleAtoi(s, &v)) return AttrValue(v);
      break;
    }
    case AttrType::kFloat: {
      float v;
      if (absl::SimpleAtof(s, &v)) return AttrValue(v);
      break;
    }
    case AttrType::kBool:
      if (s == "true") return AttrValue(true);
      if (s == "false") return AttrValue(false);
      break;
    case AttrType::kString: {
      ASSIGN_OR_RETURN(std::string v, ParseQuoted(s));
      return AttrValue(std::move(v));
    }
    case AttrType::kType: {
      ASSIGN_OR_RETURN(DType v, ParseDType(s));
      return AttrValue(v);
    }
    case AttrType::kShape: {
      ASSIGN_OR_RETURN(Shape v, ParseShapeLiteral(s));
      return AttrValue(std::move(v));
    }
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", AttrTypeName(type), " literal '", s, "'"));
}

AttrType ElementType(AttrType list_type) {
  switch (list_type) {
    case AttrType::kIntList: return AttrType::kInt;
    case AttrType::kFloatList: return AttrType::kFloat;
    case AttrType::kBoolList: return AttrType::kBool;
    case AttrType::kStringList: return AttrType::kString;
    case AttrType::kTypeList: return AttrType::kType;
    case AttrType::kShapeList: return AttrType::kShape;
    default: return list_type;
  }
}

bool IsList(AttrType t) { return ElementType(t) != t; }

absl::StatusOr<AttrValue> ParseDefault(AttrType type, absl::string_view s) {
  if (!IsList(type)) {
    if (type == AttrType::kTensor) {
      return absl::InvalidArgumentError("tensor attrs cannot have defaults in specs");
    }
    return ParseScalarLiteral(type, s);
  }
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') {
    return absl::InvalidArgumentError(absl::StrCat("expected a list like [1, 2], got '", s, "'"));
  }
  std::vector<AttrValue> items;
  for (absl::string_view item : SplitTopLevel(s.substr(1, s.size() - 2))) {
    ASSIGN_OR_RETURN(AttrValue v, ParseScalarLiteral(ElementType(type), item));
    items.push_back(std::move(v));
  }
  switch (type) {
    case AttrType::kIntList: {
      std::vector<int64_t> v;
      for (auto& i : items) v.push_back(i.i());
      return AttrValue(std::move(v));
    }
    case AttrType::kFloatList: {
      std::vector<float> v;
      for (auto& i : items) v.push_back(i.f());
      return AttrValue(std::move(v));
    }
    case AttrType::kBoolList: {
      std::vector<bool> v;
      for (auto& i : items) v.push_back(i.b());
      return AttrValue(std::move(v));
    }
    case AttrType::kStringList: {
      std::vector<std::string> v;
      for (auto& i : items) v.push_back(i.s());
      return AttrValue(std::move(v));
    }
    case AttrType::kTypeList: {
      std::vector<DType> v;
      for (auto& i : items) v.push_back(i.dtype());
      return AttrValue(std::move(v));
    }
    default: {
      std::vector<Shape> v;
      for (auto& i : items) v.push_back(i.shape());
      return AttrValue(std::move(v));
    }
  }
}

absl::StatusOr<AttrDef> ParseAttrSpec(absl::string_view spec) {
  AttrDef def;
  absl::string_view rest;
  RETURN_IF_ERROR(SplitNameAndType(spec, &def.name, &rest));
  absl::string_view type_part = rest;
  absl::string_view default_part;
  // The '=' of a default sits outside braces and quotes.
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '\'' || c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '{' || c == '[' || c == '(') ++depth;
    if (c == '}' || c == ']' || c == ')') --depth;
    if (c == '=' && depth == 0 && (i == 0 || rest[i - 1] != '>')) {
      type_part = absl::StripAsciiWhitespace(rest.substr(0, i));
      default_part = absl::StripAsciiWhitespace(rest.substr(i + 1));
      break;
    }
  }
  if (absl::StartsWith(type_part, "{")) {
    if (!absl::EndsWith(type_part, "}")) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed '{' in '", spec, "'"));
    }
    absl::string_view inner = type_part.substr(1, type_part.size() - 2);
    std::vector<absl::string_view> items = SplitTopLevel(inner);
    if (items.empty()) return absl::InvalidArgumentError(absl::StrCat("empty set in '", spec, "'"));
    if (items[0].front() == '\'' || items[0].front() == '"') {
      def.type = AttrType::kString;
      for (absl::string_view item : items) {
        ASSIGN_OR_RETURN(std::string v, ParseQuoted(item));
        def.allowed_strings.push_back(std::move(v));
      }
    } else {
      def.type = AttrType::kType;
      for (absl::string_view item : items) {
        std::vector<DType> group = DTypeGroup(item);
        if (group.empty()) {
          ASSIGN_OR_RETURN(DType d, ParseDType(item));
          group.push_back(d);
        }
        for (DType d : group) {
          if (std::find(def.allowed_types.begin(), def.allowed_types.end(), d) ==
              def.allowed_types.end()) {
            def.allowed_types.push_back(d);
          }
        }
      }
    }
  } else if (absl::StartsWith(type_part, "int") && absl::StrContains(type_part, ">=")) {
    def.type = AttrType::kInt;
    absl::string_view min = absl::StripAsciiWhitespace(type_part.substr(type_part.find(">=") + 2));
    int64_t v;
    if (!absl::SimpleAtoi(min, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("bad minimum in '", spec, "'"));
    }
    def.minimum = v;
  } else {
    ASSIGN_OR_RETURN(def.type, ParseAttrTypeName(type_part));
  }
  if (!default_part.empty()) {
    ASSIGN_OR_RETURN(AttrValue v, ParseDefault(def.type, default_part));
    def.default_value = std::move(v);
  }
  return def;
}

absl::StatusOr<ArgDef> ParseArgSpec(absl::string_view spec) {
  ArgDef arg;
  absl::string_view rest;
  RETURN_IF_ERROR(SplitNameAndType(spec, &arg.name, &rest));
  if (const size_t star = rest.find('*'); star != absl::string_view::npos) {
    arg.number_attr = std::string(absl::StripAsciiWhitespace(rest.substr(0, star)));
    rest = absl::StripAsciiWhitespace(rest.substr(star + 1));
  }
  if (auto d = ParseDType(rest); d.ok()) {
    arg.fixed_type = *d;
  } else {
    arg.type_attr = std::string(rest);
  }
  return arg;
}

}  // namespace

OpDefBuilder::OpDefBuilder(std::string name) : name_(std::move(name)) {}
OpDefBuilder& OpDefBuilder::Input(absl::string_view spec) {
  input_specs_.emplace_back(spec);
  return *this;
}
OpDefBuilder& OpDefBuilder::Output(absl::string_view spec) {
  output_specs_.emplace_back(spec);
  return *this;
}
OpDefBuilder& OpDefBuilder::Attr(absl::string_view spec) {
  attr_specs_.emplace_back(spec);
  return *this;
}
OpDefBuilder& OpDefBuilder::SetShapeFn(ShapeFn fn) {
  shape_fn_ = std::move(fn);
  return *this;
}
OpDefBuilder& OpDefBuilder::Stateful() {
  stateful_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::Differentiable() {
  differentiable_ = true;
  return *this;
}
OpDefBuilder& OpDefBuilder::Doc(absl::string_view summary) {
  summary_ = std::string(summary);
  return *this;
}

absl::StatusOr<OpDef> OpDefBuilder::Build() const {
  OpDef def;
  def.name_ = name_;
  def.shape_fn_ = shape_fn_;
  def.stateful_ = stateful_;
  def.differentiable_ = differentiable_;
  def.summary_ = summary_;
  auto context = [&](const absl::Status& s, absl::string_view spec) {
    return absl::InvalidArgumentError(absl::StrCat("op ", name_, ": ", s.message(), " in '", spec, "'"));
  };
  for (const std::string& spec : attr_specs_) {
    auto a = ParseAttrSpec(spec);
    if (!a.ok()) return context(a.status(), spec);
    if (def.FindAttr(a->name) != nullptr) return context(absl::InvalidArgumentError("duplicate attr"), spec);
    def.attrs_.push_back(std::move(*a));
  }
  auto check_arg = [&](const ArgDef& arg, absl::string_view spec) -> absl::Status {
    if (!arg.type_attr.empty()) {
      const AttrDef* t = def.FindAttr(arg.type_attr);
      if (t == nullptr || t->type != AttrType::kType) {
        return context(absl::InvalidArgumentError(
                           absl::StrCat("'", arg.type_attr, "' is neither a dtype nor a type attr")),
                       spec);
      }
    }
    if (!arg.number_attr.empty()) {
      const AttrDef* n = def.FindAttr(arg.number_attr);
      if (n == nullptr || n->type != AttrType::kInt) {
        return context(absl::InvalidArgumentError(
                           absl::StrCat("'", arg.number_attr, "' is not an int attr")),
                       spec);
      }
    }
    return absl::OkStatus();
  };
  for (const std::string& spec : input_specs_) {
    auto a = ParseArgSpec(spec);
    if (!a.ok()) return context(a.status(), spec);
    RETURN_IF_ERROR(check_arg(*a, spec));
    def.inputs_.push_back(std::move(*a));
  }
  for (const std::string& spec : output_specs_) {
    auto a = ParseArgSpec(spec);
    if (!a.ok()) return context(a.status(), spec);
    RETURN_IF_ERROR(check_arg(*a, spec));
    def.outputs_.push_back(std::move(*a));
  }
  if (!def.shape_fn_) {
    return absl::InvalidArgumentError(absl::StrCat("op ", name_, " has no shape function"));
  }
  return def;
}

void OpRegistry::Register(const OpDefBuilder& builder) {
  auto def = builder.Build();
  if (!def.ok()) {
    std::fprintf(stderr, "sluice: bad op registration: %s\n", std::string(def.status().message()).c_str());
    std::abort();
  }
  const std::string name = def->name();
  auto [it, inserted] = ops_.emplace(name, std::make_unique<OpDef>(std::move(*def)));
  if (!inserted) {
    std::fprintf(stderr, "sluice: op %s registered twice\n", name.c_str());
    std::abort();
  }
}

const OpDef* OpRegistry::Find(absl::string_view name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<const OpDef*> OpRegistry::ListOps() const {
  std::vector<const OpDef*> out;
  for (const auto& [name, def] : ops_) out.push_back(def.get());
  std::sort(out.begin(), out.end(),
            [](const OpDef* a, const OpDef* b) { return a->name() < b->name(); });
  return out;
}

}  // namespace sluice
