//! The sale screen's category grid is read from a table the catalog's triggers keep; it must
//! always equal a count over the products, after imports, price and category changes, and a
//! bulk first download (which rebuilds it once).

mod support;

use pos_domain::Money;
use pos_till::catalog;
use rusqlite::Connection;
use support::new_till;

/// The grid as a full count over the products would give it.
fn counted(path: &std::path::Path) -> Vec<(String, u64)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT category, count(*) FROM products GROUP BY category ORDER BY category")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_category_grid_stays_right_after_imports_and_price_changes() {
    let mut t = new_till();
    let grid = t.till.categories().unwrap();
    assert!(!grid.is_empty());
    assert_eq!(grid, counted(&t.path), "the demo catalog's grid");

    // A re-import that changes prices, moves a product to another category and to a new one.
    let mut products = pos_till::demo::demo_catalog().unwrap();
    for p in products.iter_mut() {
        p.price += Money::from_cents(100);
    }
    let moved = products[0].id.clone();
    products[0].category = products[1].category.clone();
    products[2].category = "Nouveautés".into();
    t.till.import_catalog(&products, "prices").unwrap();
    assert_eq!(
        t.till.categories().unwrap(),
        counted(&t.path),
        "after a catalog import with price and category changes, the grid equals a count"
    );
    assert_eq!(
        t.till.product_by_id(&moved).unwrap().unwrap().category,
        products[1].category
    );
    assert!(
        t.till
            .categories()
            .unwrap()
            .iter()
            .any(|(c, n)| c == "Nouveautés" && *n == 1),
        "a new category appears with its product"
    );

    // A bulk first download: rows replaced with the triggers off, then the grid rebuilt once.
    let conn = Connection::open(&t.path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    catalog::without_search_index(&conn, || {
        for (i, p) in products.iter_mut().enumerate() {
            p.category = if i % 2 == 0 {
                "Pairs".into()
            } else {
                "Impairs".into()
            };
            catalog::insert_new(&conn, p)?;
        }
        Ok(())
    })
    .unwrap();
    assert!(catalog::rebuild_search_if_stale(&conn).unwrap());
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    let grid = t.till.categories().unwrap();
    assert_eq!(
        grid,
        counted(&t.path),
        "after a bulk download the grid is rebuilt right"
    );
    assert_eq!(
        grid.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["Impairs", "Pairs"],
        "no emptied category is left in the grid"
    );
}

#[test]
fn the_category_grid_is_never_a_scan_of_the_products() {
    let t = new_till();
    let conn = Connection::open(&t.path).unwrap();
    let plan: Vec<String> = conn
        .prepare("EXPLAIN QUERY PLAN SELECT category, products FROM category_counts WHERE products > 0 ORDER BY category")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .all(|step| !step.contains("products ") || step.contains("category_counts")),
        "the grid reads category_counts only: {plan:?}"
    );
    let plan: Vec<String> = conn
        .prepare("EXPLAIN QUERY PLAN SELECT id FROM products p WHERE p.category = 'x' ORDER BY p.label, p.id LIMIT 10")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("products_by_category")),
        "one category's products are listed through its index: {plan:?}"
    );
}
