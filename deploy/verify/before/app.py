# Stand-in for the original app.py (not available): only the /health endpoint the design
# document shows, so the images can be built and their size, start-up, memory and /health
# throughput measured. The real app had more routes; its image size is dominated by the base.
from datetime import datetime

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "healthy", "timestamp": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                    "version": "1.0.0", "uptime": "running"})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5125)
