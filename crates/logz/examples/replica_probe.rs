use logz::replica::{solve, Level, Temperature};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lv = Level::parse(&args[1]).unwrap();
    let t = if args[2] == "gs" {
        Temperature::Zero
    } else {
        Temperature::Beta(args[2].parse().unwrap())
    };
    let h: f64 = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(0.0);
    let t0 = std::time::Instant::now();
    let s = solve(t, h, lv).unwrap();
    println!("{:?}\n{:.2}s", s, t0.elapsed().as_secs_f64());
}
