"""The load balancer configuration the scale-out topology writes is one nginx accepts."""

from __future__ import annotations

import subprocess

from bot.topology import NGINX, nginx_config


def test_nginx_accepts_the_generated_configuration(tmp_path):
    (tmp_path / "nginx-tmp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(tmp_path, 18080, [18081, 18082], 18090, [18091, 18092]))
    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    text = conf.read_text()
    assert "server 127.0.0.1:18081" in text and "server 127.0.0.1:18092" in text
    assert "proxy_next_upstream error timeout" in text, "a dead server's connections go to the next one"
