/// WHERE: typing of comparisons, IN and BETWEEN, and the rule that conditions never touch a
/// privacy-unit column (a filter on a person's identifier singles that person out).
extension Analyzer {
    /// A typed operand with its source position.
    struct TypedOperand {
        var operand: FilterOperand
        var type: ColumnType
        var display: String
        var location: SourceLocation
    }

    func condition(_ expression: SyntaxExpression) throws(AnalysisError) -> FilterExpression {
        switch expression {
        case .and(let terms):
            return .and(try terms.map { (term) throws(AnalysisError) in try condition(term) })
        case .or(let terms):
            return .or(try terms.map { (term) throws(AnalysisError) in try condition(term) })
        case .not(let inner, _):
            return .not(try condition(inner))
        case .operand(let operand):
            throw AnalysisError(.syntax, "expected a condition (such as column = value) but found a bare value", at: operand.location)
        case .comparison(let op, let left, let right, _):
            return try comparison(Self.operator(op), try typed(left), try typed(right))
        case .between(let value, let low, let high, let negated, _):
            let operand = try typed(value)
            let range = FilterExpression.and([
                try comparison(.greaterEqual, operand, try typed(low)),
                try comparison(.lessEqual, operand, try typed(high)),
            ])
            return negated ? .not(range) : range
        case .inList(let value, let items, let negated, _):
            let list = try inList(try typed(value), items)
            return negated ? .not(list) : list
        }
    }

    static func `operator`(_ op: SyntaxComparison) -> ComparisonOperator {
        switch op {
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessEqual: .lessEqual
        case .greater: .greater
        case .greaterEqual: .greaterEqual
        }
    }

    func typed(_ operand: SyntaxOperand) throws(AnalysisError) -> TypedOperand {
        switch operand {
        case .column(let syntax):
            let column = try resolve(syntax)
            if column.identifiesPeople {
                throw AnalysisError(.privacyUnitExposed, "conditions may not use \(column.identityRole) \(column): filtering on a person's identifier singles them out; remove the condition (datasets are matched on the unit with JOIN ... ON)", at: syntax.location)
            }
            return TypedOperand(operand: .column(column), type: column.type, display: "\(column) (\(column.type))", location: syntax.location)
        case .parameter(let name, let location):
            guard let type = parameters[name] else {
                let declared = parameters.keys.sorted().map { "@" + $0 }
                throw AnalysisError(.unknownName, "parameter @\(name) is not declared for this query; \(declared.isEmpty ? "declare it under the query's params in the module" : "its parameters are \(declared.joined(separator: ", "))")", at: location)
            }
            return TypedOperand(operand: .parameter(name, type), type: type, display: "@\(name) (\(type))", location: location)
        case .literal(let literal, let location):
            let value = try Self.value(of: literal, at: location)
            return TypedOperand(operand: .literal(value), type: value.type, display: "\(value) (\(value.type))", location: location)
        }
    }

    static func value(of literal: SyntaxLiteral, at location: SourceLocation) throws(AnalysisError) -> ScalarValue {
        switch literal {
        case .text(let text):
            return .text(text)
        case .integer(let text):
            guard let value = Int64(text) else {
                throw AnalysisError(.invalidToken, "the number \(text) does not fit in a 64-bit integer", at: location)
            }
            return .int(value)
        case .decimal(let text):
            guard let value = DecimalValue(parsing: text) else {
                throw AnalysisError(.invalidToken, "the decimal \(text) has more than \(DecimalValue.scale) digits after the point or is too large; round it", at: location)
            }
            return .decimal(value)
        case .date(let text):
            guard let value = DateValue(parsing: text) else {
                throw AnalysisError(.invalidToken, "'\(text)' is not a valid date; write DATE 'YYYY-MM-DD' with a real calendar date", at: location)
            }
            return .date(value)
        }
    }

    /// The domain two types are compared in, or `nil` if they cannot be compared.
    static func domain(_ left: ColumnType, _ right: ColumnType) -> ComparisonDomain? {
        switch (left, right) {
        case (.text, .text): .text
        case (.int, .int): .int
        case (.date, .date): .date
        case (.int, .decimal), (.decimal, .int), (.decimal, .decimal): .decimal
        default: nil
        }
    }

    func mismatch(_ left: TypedOperand, _ right: TypedOperand) -> AnalysisError {
        var hint = "compare values of the same type (int and decimal mix freely)"
        if (left.type == .date && right.type == .text) || (left.type == .text && right.type == .date) {
            hint = "write date literals as DATE 'YYYY-MM-DD'"
        }
        return AnalysisError(.typeMismatch, "cannot compare \(left.display) with \(right.display); \(hint)", at: right.location)
    }

    /// Converts a literal into the comparison's domain (only int -> decimal ever changes).
    func converted(_ operand: TypedOperand, to domain: ComparisonDomain) throws(AnalysisError) -> FilterOperand {
        guard domain == .decimal, case .literal(.int(let whole)) = operand.operand else { return operand.operand }
        guard let value = DecimalValue(integer: whole) else {
            throw AnalysisError(.invalidToken, "the number \(whole) is too large to compare with a decimal", at: operand.location)
        }
        return .literal(.decimal(value))
    }

    func comparison(_ op: ComparisonOperator, _ left: TypedOperand, _ right: TypedOperand) throws(AnalysisError) -> FilterExpression {
        guard let domain = Self.domain(left.type, right.type) else { throw mismatch(left, right) }
        return .comparison(op, try converted(left, to: domain), try converted(right, to: domain), domain: domain)
    }

    func inList(_ value: TypedOperand, _ items: [SyntaxOperand]) throws(AnalysisError) -> FilterExpression {
        var typedItems: [TypedOperand] = []
        var domain = Self.domain(value.type, value.type) ?? .text
        for item in items {
            guard case .literal = item else {
                throw AnalysisError(.unsupported, "IN lists may only hold literal values; compare columns with = instead", at: item.location)
            }
            let typedItem = try typed(item)
            guard let pair = Self.domain(value.type, typedItem.type) else { throw mismatch(value, typedItem) }
            if pair == .decimal { domain = .decimal }
            typedItems.append(typedItem)
        }
        var seen = Set<ScalarValue>()
        var values: [ScalarValue] = []
        for item in typedItems {
            if case .literal(let converted) = try converted(item, to: domain), seen.insert(converted).inserted {
                values.append(converted)
            }
        }
        return .inList(try converted(value, to: domain), values, domain: domain)
    }
}
