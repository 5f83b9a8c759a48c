/// The page `netlab web` serves at `/`: everything it needs is in it (no CDN, no network).
enum WebPage {
    static let html = "<!doctype html><title>netlab</title><body>netlab</body>"
}
