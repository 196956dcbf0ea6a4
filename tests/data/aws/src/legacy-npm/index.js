const _ = require('lodash');
const parse = require('minimist');

exports.handler = async (event) => {
  const args = parse((event.args || '').split(' '));
  return { statusCode: 200, body: JSON.stringify(_.merge({}, args)) };
};
