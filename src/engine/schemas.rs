//! Schema-qualified names: `public.t`, `"public"."t"` and `public.t.c` name `t` and `t.c`
//! (idbsql has one schema, PostgreSQL's default); any other schema is refused, naming it.
//! Pure syntax, once per parsed statement; never looks at what exists.

use {
    super::visit,
    crate::error::{unsupported_schema, DbError},
    gluesql_core::sqlparser::{
        ast::{
            AlterTableOperation, ColumnOption, Expr, Ident, ObjectName, ObjectType, Statement,
            TableConstraint,
        },
        tokenizer::{Token, TokenWithLocation},
    },
    std::ops::ControlFlow,
};

/// Whether `ident` names the one schema: `public` unquoted in any case, or `"public"`.
fn is_public(ident: &Ident) -> bool {
    match ident.quote_style {
        Some(_) => ident.value == "public",
        None => ident.value.eq_ignore_ascii_case("public"),
    }
}

/// Whether the text writes `public.` (quoted or not): only then is there anything to strip.
pub fn writes_public(tokens: &[TokenWithLocation]) -> bool {
    tokens.windows(2).any(|pair| {
        let public = match &pair[0].token {
            Token::Word(word) if word.quote_style.is_some() => word.value == "public",
            Token::Word(word) => word.value.eq_ignore_ascii_case("public"),
            _ => false,
        };
        public && pair[1].token == Token::Period
    })
}

/// `name` without its `public.`; an error for any other qualifier.
fn unqualify(name: &mut ObjectName) -> Result<(), DbError> {
    match name.0.as_slice() {
        [_] => Ok(()),
        [schema, _] | [schema, _, _] if is_public(schema) => {
            name.0.remove(0);
            Ok(())
        }
        _ => Err(unsupported_schema(&name.to_string())),
    }
}

/// Every table, view and index name `statement` writes, and every column reference, without
/// its `public.`.
pub fn unqualify_statement(statement: &mut Statement) -> Result<(), DbError> {
    let mut result = Ok(());
    let _ = visit::relations_mut(statement, |name| {
        result = unqualify(name);
        if result.is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    result?;
    for name in other_names(statement) {
        unqualify(name)?;
    }
    // `public.t.c` in an expression.
    let _ = visit::exprs_mut(statement, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr {
            if parts.len() == 3 && is_public(&parts[0]) {
                parts.remove(0);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(())
}

/// The names sqlparser's relation visitor does not visit: a view's, dropped objects', and
/// those a foreign key references.
fn other_names(statement: &mut Statement) -> Vec<&mut ObjectName> {
    match statement {
        Statement::CreateView { name, .. } => vec![name],
        // `DROP INDEX table.index` is idbsql's own form: only `public.` is taken from it.
        Statement::Drop {
            object_type: ObjectType::Index,
            names,
            ..
        } => names
            .iter_mut()
            .filter(|n| n.0.len() == 3 || (n.0.len() == 2 && is_public(&n.0[0])))
            .collect(),
        Statement::Drop { names, .. } => names.iter_mut().collect(),
        Statement::CreateTable(create) => {
            let mut names: Vec<&mut ObjectName> = Vec::new();
            for column in &mut create.columns {
                for option in &mut column.options {
                    if let ColumnOption::ForeignKey { foreign_table, .. } = &mut option.option {
                        names.push(foreign_table);
                    }
                }
            }
            for constraint in &mut create.constraints {
                if let TableConstraint::ForeignKey { foreign_table, .. } = constraint {
                    names.push(foreign_table);
                }
            }
            names
        }
        Statement::AlterTable { operations, .. } => operations
            .iter_mut()
            .filter_map(|operation| match operation {
                AlterTableOperation::AddConstraint(TableConstraint::ForeignKey {
                    foreign_table,
                    ..
                }) => Some(foreign_table),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
